"""How the ``meshq`` commands reach the REST API: the one client, pointed where ``--api-url``
/ ``--api-key``, the environment or ``meshq serve`` say, and its errors as one line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from network_discovery.cli._common import CliError
from network_discovery.cli.stack import StackNotFound, api_flags
from network_discovery.client import ClientError, MeshqClient, resolve_settings
from network_discovery.client import StackNotFound as NoApi
from network_discovery.client._settings import DEFAULT_TIMEOUT

__all__ = ["api"]


@contextlib.contextmanager
def api(
    error: type[CliError] = CliError, *, timeout: float = DEFAULT_TIMEOUT
) -> Iterator[MeshqClient]:
    """A client of the REST API for the block; what it fails with (no stack, a refusal, an
    answer that is not the gateway's) becomes ``error`` with the client's message (a stack
    that is not there a :class:`StackNotFound` unless ``error`` says otherwise)."""
    try:
        with MeshqClient(resolve_settings(*api_flags(), timeout=timeout)) as client:
            yield client
    except NoApi as exc:
        raise (StackNotFound if error is CliError else error)(str(exc)) from None
    except ClientError as exc:
        raise error(str(exc)) from None
