"""The `monitor` command line (`main` is the entry point)."""

from monitor.cli.main import main

__all__ = ["main"]
