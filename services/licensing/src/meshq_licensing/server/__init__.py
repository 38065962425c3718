"""The license server: keys, plans, device registry, signed answers, admin API."""

from meshq_licensing.server.app import create_server_app

__all__ = ["create_server_app"]
