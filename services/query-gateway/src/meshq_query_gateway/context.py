"""What the gateway's routes share, built by the lifespan and read from ``app.state``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import quote

import httpx
import structlog
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from meshq_runtime.http import ProblemError

from meshq_query_gateway.answer_cache import AnswerCache
from meshq_query_gateway.audit import note_of
from meshq_query_gateway.auth import Principal, principal_of
from meshq_query_gateway.gates import LicenseGate
from meshq_query_gateway.graph_hop import QueryHop, graph_problem
from meshq_query_gateway.policy_store import PolicyStore

__all__ = [
    "Deps",
    "Gateway",
    "admin_only",
    "authorize",
    "forward",
    "gateway",
    "principal",
    "quoted",
    "requires",
]

log = structlog.get_logger(__name__)


@dataclass
class Gateway:
    """What the gateway's handlers and middleware use, built once by the lifespan: handlers
    receive it as the ``deps`` dependency (:data:`Deps`), middleware through
    :func:`gateway`."""

    graph: httpx.AsyncClient
    gate: LicenseGate
    rbac: PolicyStore
    follower: Any
    redis: Any = None
    catalogue_ttl: float = 60.0
    #: Largest snapshot body ``POST /snapshots`` passes on, in bytes as sent.
    snapshot_max_bytes: int = 4 * 1024**3
    #: The bus (``POST /netbox/sync`` publishes on it).
    bus: Any = None
    #: Holds each call's audit event until the audit log confirms it (``AuditMiddleware``).
    audit_buffer: Any = None
    #: Per-identity limits (``RateLimitMiddleware``).
    limiter: Any = None
    #: The audit service's and the SOAR dispatcher's internal APIs, where configured.
    audit_client: httpx.AsyncClient | None = None
    soar_client: httpx.AsyncClient | None = None
    #: The hop of catalogue queries to graph-engine (``graph_hop``).
    hop: QueryHop | None = None
    #: Answers of read-only queries, shared by every pod through Redis (``answer_cache``).
    cache: AnswerCache | None = None
    #: Services besides graph-engine that serve catalogue queries (the alerts service): their
    #: name -> (the client that lists their queries, the hop that runs them).
    services: dict[str, tuple[httpx.AsyncClient, QueryHop]] = field(default_factory=dict)
    _catalogue: list[dict[str, Any]] | None = field(default=None, repr=False)
    _catalogue_at: float = 0.0
    _routes: dict[str, str] = field(default_factory=dict, repr=False)

    async def catalogue(self) -> list[dict[str, Any]]:
        """The graph engine's query list, and those of the other services that serve
        queries, cached for ``catalogue_ttl`` seconds. A service that does not answer leaves
        its queries out until it does (graph-engine's queries are still served)."""
        now = time.monotonic()
        if self._catalogue is None or now - self._catalogue_at > self.catalogue_ttl:
            listing = list(await forward(self.graph, "GET", "/internal/queries"))
            routes: dict[str, str] = {}
            taken = {str(q.get("name")) for q in listing}
            for service, (client, _) in self.services.items():
                try:
                    theirs = await forward(client, "GET", "/internal/queries")
                except ProblemError as exc:
                    log.warning("catalogue.service_unavailable", service=service, error=exc.title)
                    continue
                for entry in theirs if isinstance(theirs, list) else []:
                    name = str(entry.get("name"))
                    if name in taken:  # graph-engine's name wins: never two answers to one name
                        log.error("catalogue.name_clash", service=service, query=name)
                        continue
                    taken.add(name)
                    routes[name] = service
                    listing.append(entry)
            self._catalogue, self._routes = listing, routes
            self._catalogue_at = now
        return self._catalogue

    def hop_for(self, name: str) -> QueryHop | None:
        """The hop that runs query ``name``: its service's, else graph-engine's."""
        service = self._routes.get(name)
        if service is not None and service in self.services:
            return self.services[service][1]
        return self.hop

    def known_catalogue(self) -> list[dict[str, Any]] | None:
        """The query list last read from the graph engine (None before the first read)."""
        return self._catalogue

    async def query(self, name: str) -> dict[str, Any]:
        for entry in await self.catalogue():
            if entry.get("name") == name:
                return entry
        raise ProblemError(
            404, "Unknown query", f"no query named {name!r}; GET /queries lists them", field="name"
        )

    def rbac_active(self) -> bool:
        return self.rbac.enabled and self.gate.allows("rbac")

    def is_admin(self, who: Principal) -> bool:
        if who.admin_key:
            return True
        policy = self.rbac.policy
        return bool(self.rbac_active() and policy and policy.is_admin(who.groups))

    def permits(self, who: Principal, verb: str, resource: str) -> bool:
        """RBAC; with no policy or no ``rbac`` flag, everyone may do what the plan allows."""
        if who.admin_key or not self.rbac_active():
            return True
        policy = self.rbac.policy
        return policy is not None and policy.allows(who.groups, verb, resource)


#: A handler's ``deps`` parameter: the gateway's dependencies (Litestar's named dependency).
Deps: TypeAlias = NamedDependency[Gateway]


def gateway(state: State) -> Gateway:
    """The dependencies, for middleware (handlers take ``deps: Deps``); 503 while starting."""
    deps: Gateway = state.service.need()
    return deps


def principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller; single sign-on identities also need the ``oidc_sso`` flag."""
    who = principal_of(request.scope)
    if who is None:  # the auth middleware runs first; this is a wiring error
        raise ProblemError(401, "Unauthorized", "no credential")
    if who.auth_method == "oidc":
        gateway(request.app.state).gate.require("oidc_sso")
    return who


def requires(
    resource: str,
    *,
    feature: str | None = None,
    community: bool = False,
    admin_or_role: bool = False,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A route guard: the caller may use ``resource`` (RBAC verb ``execute``), its plan has
    ``feature`` when one is named and, with ``community``, the API (``api_access``, or the
    Community plan's allowance).
    ``admin_or_role``: the admin, or under RBAC a role granting ``execute`` on ``resource``
    (without RBAC in force, only the admin), then ``feature``. The call is audited under
    ``resource`` whatever the guard decides."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        note = note_of(connection.scope.setdefault("state", {}))
        note.query = note.query or resource
        gw, who = gateway(connection.app.state), principal(connection)
        if admin_or_role:
            if not (
                gw.is_admin(who) or (gw.rbac_active() and gw.permits(who, "execute", resource))
            ):
                raise ProblemError(
                    403,
                    "Forbidden",
                    f"only the admin (API_KEY or the admin role), or under RBAC a role "
                    f"granting 'execute' on {resource!r}, may do this",
                    type_="https://meshoptixiq.com/problems/rbac-denied",
                    verb="execute",
                    resource=resource,
                )
            if feature is not None:
                gw.gate.require(feature)
            return
        if community:
            gw.gate.community_only(who)
        if feature is not None:
            gw.gate.require(feature)
        authorize(gw, who, "execute", resource)

    return guard


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A route guard: the admin only (the ``API_KEY`` holder or a member of the ``admin``
    role), whatever RBAC grants."""
    if not gateway(connection.app.state).is_admin(principal(connection)):
        raise ProblemError(
            403,
            "Forbidden",
            "only the admin (API_KEY or the admin role) may do this",
            type_="https://meshoptixiq.com/problems/admin-only",
        )


def authorize(gw: Gateway, who: Principal, verb: str, resource: str) -> None:
    if not gw.permits(who, verb, resource):
        raise ProblemError(
            403,
            "Forbidden",
            f"your roles do not grant {verb!r} on {resource!r}",
            type_="https://meshoptixiq.com/problems/rbac-denied",
            verb=verb,
            resource=resource,
        )


async def forward(client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    """Call graph-engine's internal API; its problems come back as ours (5xx as 502)."""
    try:
        response = await client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Graph engine unavailable", f"graph-engine did not answer ({type(exc).__name__})"
        ) from exc
    if response.status_code >= 400:
        raise graph_problem(response.status_code, response.content, path)
    return response.json()


def quoted(name: str) -> str:
    return quote(name, safe="")
