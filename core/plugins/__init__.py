"""The plugin host. Plugins are ordinary Python packages that publish an entry point::

    [project.entry-points."carecoord.plugins"]
    wound_care = "wound_care.hooks"

and implement hooks from :mod:`core.plugins.hookspecs` with ``@hookimpl`` (import everything from
:mod:`core.plugins.sdk`). ``docs/plugins.md`` is the author's guide.
"""
