"""The ``meshq`` command line."""

from network_discovery.cli.main import cli, main

__all__ = ["cli", "main"]
