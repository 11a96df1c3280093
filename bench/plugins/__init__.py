"""Plugins that exist only for the benchmarks (loaded through ``CARECOORD_PLUGINS_EXTRA``)."""
