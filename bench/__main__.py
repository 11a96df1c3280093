"""``python -m bench``: run every benchmark and print its report."""

from __future__ import annotations

from bench import hook_dispatch

if __name__ == "__main__":
    hook_dispatch.main()
