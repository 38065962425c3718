"""Finding a running stack: its REST API as the client resolves it (``meshq --api-url`` /
``--api-key``, the environment, ``meshq serve``'s endpoints file). The REST API is the only
address a command needs; it never talks to the broker or an internal service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from network_discovery.cli._common import CliError
from network_discovery.client import StackNotFound as NoApi
from network_discovery.client import endpoints_file as _endpoints_file
from network_discovery.client import locate

__all__ = ["Stack", "StackNotFound", "api_flags", "endpoints_file", "find_stack"]


class StackNotFound(CliError):
    """No stack to talk to, or it cannot be reached."""


@dataclass(frozen=True)
class Stack:
    api_url: str | None
    api_key: str | None

    def need_api(self) -> tuple[str, str]:
        if not self.api_url:
            raise StackNotFound(_HOW)
        if not self.api_key:
            raise StackNotFound(
                f"no API key for the REST API at {self.api_url}: set MESHOPTIXIQ_API_KEY "
                "(or pass --api-key)"
            )
        return self.api_url.rstrip("/"), self.api_key


_HOW = (
    "no running MeshOptixIQ stack found: start one with 'meshq serve' (or 'make run'), "
    "or set MESHOPTIXIQ_API_URL and MESHOPTIXIQ_API_KEY (or pass --api-url and --api-key)"
)


def endpoints_file() -> Path:
    return _endpoints_file()


def api_flags() -> tuple[str | None, str | None]:
    """``meshq --api-url URL --api-key KEY`` of the command being run (None where not given)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None, None
    params = ctx.find_root().params
    return params.get("api_url"), params.get("api_key")


def find_stack() -> Stack:
    """The stack named by the flags and the environment, else the one ``meshq serve`` runs
    locally."""
    try:
        url, key = locate(*api_flags())
    except NoApi as exc:
        raise StackNotFound(str(exc)) from exc
    return Stack(api_url=url, api_key=key)
