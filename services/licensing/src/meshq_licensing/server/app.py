"""The license server's Litestar app: validate, health, and the admin API."""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar, Request, delete, get, head, post
from litestar.di import NamedDependency
from meshq_runtime.http import ProblemError, ServiceState, build_app
from meshq_runtime.postgres import apply_migrations, create_pool
from meshq_runtime.service import postgres_probe
from network_discovery.licensing import protocol
from pydantic import BaseModel, ConfigDict, Field

from meshq_licensing.server.repository import MIGRATIONS, ServerRepository
from meshq_licensing.server.service import LicenseServer, SignedRequest
from meshq_licensing.settings import ServerSettings

__all__ = ["SERVER", "create_server_app", "load_signing_key"]

SERVER = "license-server"
_KEY_ID = r"^[0-9a-f]{64}$"


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(pattern=r"^(community|starter|pro|enterprise)$")
    expiration_date: date
    customer: str = Field("", max_length=200)


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expiration_date: date


def load_signing_key(value: str) -> rsa.RSAPrivateKey:
    pem = value if value.lstrip().startswith("-----BEGIN") else Path(value).read_text()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("MESHQ_LICENSE_SIGNING_KEY must be an RSA private key")
    return key


@dataclass(frozen=True)
class ServerDeps:
    """What the license server's handlers use, built once by the lifespan."""

    server: LicenseServer
    admin_token: str = field(repr=False)


#: A handler's ``deps`` parameter (Litestar's named dependency).
Deps: TypeAlias = NamedDependency[ServerDeps]


def _admin(request: Request[Any, Any, Any], deps: ServerDeps) -> LicenseServer:
    token = deps.admin_token
    given = request.headers.get("authorization", "")
    expected = f"Bearer {token}"
    if not token or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ProblemError(401, "Unauthorized", "admin token missing or wrong")
    return deps.server


def _check_key_id(key_id: str) -> str:
    import re

    if not re.match(_KEY_ID, key_id):
        raise ProblemError(422, "Invalid key id", "key id is 64 hex characters", field="key_id")
    return key_id


@post(protocol.VALIDATE_PATH, status_code=200, tags=["licenses"])
async def validate(request: Request[Any, Any, Any], deps: Deps) -> dict[str, str]:
    """Validate a key for a device (HMAC-signed request); the answer is RSA-PSS signed."""
    h = request.headers
    fields = {
        "key_id": h.get(protocol.HEADER_KEY_ID, ""),
        "timestamp": h.get(protocol.HEADER_TIMESTAMP, ""),
        "nonce": h.get(protocol.HEADER_NONCE, ""),
        "signature": h.get(protocol.HEADER_SIGNATURE, ""),
    }
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise ProblemError(
            401, "Unsigned request", f"missing: {', '.join(missing)}", reason="bad_signature"
        )
    _check_key_id(fields["key_id"])
    if len(fields["nonce"]) > 128:
        raise ProblemError(400, "Invalid request", "nonce too long", field="nonce")
    req = SignedRequest(body=await request.body(), **fields)
    return await deps.server.validate(req, protocol.VALIDATE_PATH)


@head("/health", tags=["probes"])
async def health_head() -> None:
    """Alive (HEAD)."""


@post("/v1/admin/licenses", status_code=201, tags=["admin"])
async def issue(request: Request[Any, Any, Any], deps: Deps, data: IssueRequest) -> Any:
    """Issue a key; the key is returned once and never stored."""
    return await _admin(request, deps).issue(data.plan, data.expiration_date, data.customer)


@post("/v1/admin/licenses/{key_id:str}/renew", status_code=200, tags=["admin"])
async def renew(
    request: Request[Any, Any, Any], deps: Deps, key_id: str, data: RenewRequest
) -> Any:
    return await _admin(request, deps).renew(_check_key_id(key_id), data.expiration_date)


@post("/v1/admin/licenses/{key_id:str}/revoke", status_code=200, tags=["admin"])
async def revoke(request: Request[Any, Any, Any], deps: Deps, key_id: str) -> Any:
    return await _admin(request, deps).revoke(_check_key_id(key_id))


@get("/v1/admin/licenses/{key_id:str}/devices", tags=["admin"])
async def devices(request: Request[Any, Any, Any], deps: Deps, key_id: str) -> Any:
    return await _admin(request, deps).devices(_check_key_id(key_id))


@delete("/v1/admin/licenses/{key_id:str}/devices/{fingerprint:str}", tags=["admin"])
async def deregister(
    request: Request[Any, Any, Any], deps: Deps, key_id: str, fingerprint: str
) -> None:
    """Deregister a device: its seat is free at once."""
    await _admin(request, deps).deregister(_check_key_id(key_id), fingerprint)


@post("/v1/admin/purge", status_code=200, tags=["admin"])
async def purge(request: Request[Any, Any, Any], deps: Deps) -> dict[str, int]:
    return {"purged": await _admin(request, deps).purge()}


def create_server_app(settings: ServerSettings) -> Litestar:
    state: ServiceState[ServerDeps] = ServiceState(service=SERVER)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if not settings.signing_key.get_secret_value() or not settings.master_key:
            raise RuntimeError(
                "MESHQ_LICENSE_SIGNING_KEY and MESHQ_LICENSE_MASTER_KEY are required"
            )
        master = settings.master_key.get_secret_value().encode()
        if len(master) < 16:
            raise RuntimeError("MESHQ_LICENSE_MASTER_KEY must be at least 16 characters")
        signing = load_signing_key(settings.signing_key.get_secret_value())
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings)
            stack.push_async_callback(pool.close)
            await apply_migrations(pool, SERVER, MIGRATIONS)
            offset = settings.clock_offset_s
            server = LicenseServer(
                ServerRepository(pool),
                signing_key=signing,
                master_key=master,
                revoked_retention_s=settings.revoked_retention_s,
                clock=lambda: time.time() + offset,
            )
            state.probes[:] = [postgres_probe(pool)]
            state.hand_out(
                ServerDeps(server=server, admin_token=settings.admin_token.get_secret_value()),
                stack,
            )
            yield

    return build_app(
        service=SERVER,
        route_handlers=[validate, health_head, issue, renew, revoke, devices, deregister, purge],
        lifespan=lifespan,
        state=state,
        openapi_title="MeshOptixIQ license server",
    )
