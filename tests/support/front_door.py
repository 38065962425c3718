"""A query gateway in front of the services a test runs, so that clients (the ``meshq``
commands) reach them the way they do in production: through the REST API with an API key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.procs import ServiceProc

__all__ = ["ADMIN_KEY", "start_gateway", "use_gateway"]

ADMIN_KEY = "front-door-admin-" + "k" * 24
#: Nothing listens here: a gateway that needs no graph engine or license agent for the test.
NOWHERE = "http://127.0.0.1:9"


def start_gateway(
    spawn: Callable[..., ServiceProc],
    env: dict[str, str],
    *,
    name: str = "query-gateway",
    **settings: str,
) -> ServiceProc:
    """A gateway on ``env``'s broker, Redis and service credential, with the admin key
    :data:`ADMIN_KEY`; ``settings`` add to its environment (``MESHQ_AUDIT_URL``, ...)."""
    gw_env = {
        **env,
        "API_KEY": ADMIN_KEY,
        "MESHQ_GRAPH_ENGINE_URL": NOWHERE,
        "MESHQ_LICENSING_URL": NOWHERE,
        **settings,
    }
    # /health: its /ready asks a graph engine that this test does not run
    return spawn("meshq_query_gateway", gw_env, name=name).wait_healthy(path="/health")


def use_gateway(
    monkeypatch: pytest.MonkeyPatch, gateway: ServiceProc, key: str = ADMIN_KEY
) -> None:
    """Point the ``meshq`` commands of the test at ``gateway``."""
    monkeypatch.setenv("MESHOPTIXIQ_API_URL", gateway.url)
    monkeypatch.setenv("MESHOPTIXIQ_API_KEY", key)
    monkeypatch.setenv("MESHQ_NO_LICENSE_WARNING", "1")
