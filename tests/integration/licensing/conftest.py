"""The real license server (and agents) on PostgreSQL, as child processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from support.license import signing_key_pair
from support.procs import ServiceProc, free_port

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def key_pair() -> tuple[str, str]:
    """The license server's signing pair: the one ``service_env`` makes the services trust."""
    return signing_key_pair()


async def _create(server_url: str, db: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{db}"')  # generated name, never user input
    finally:
        await conn.close()


@pytest.fixture
def new_database(stack) -> Callable[[], str]:
    """A fresh database URL on the stack's server (dropped with the session's server)."""
    created: list[str] = []

    def make() -> str:
        db = f"meshq_lic_{uuid.uuid4().hex[:10]}"
        parts = urlsplit(stack.postgres_url)
        admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
        asyncio.run(_create(admin, db))
        created.append(db)
        return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))

    return make


@dataclass
class LicenseServer:
    proc: ServiceProc
    env: dict[str, str]
    public_pem: str

    @property
    def url(self) -> str:
        return self.proc.url

    def admin(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kw)

    def issue(self, plan: str = "pro", days: int = 365) -> dict:
        expiry = (date.today() + timedelta(days=days)).isoformat()
        r = self.admin("POST", "/v1/admin/licenses", json={"plan": plan, "expiration_date": expiry})
        assert r.status_code == 201, r.text
        return r.json()

    def restart(self, **env: str) -> None:
        self.proc.stop()
        self.proc = ServiceProc(
            module="meshq_licensing",
            port=self.proc.port,
            env={**self.env, **env},
            log_path=self.proc.log_path,
        )
        self.proc.start().wait_healthy()


def start_server(
    database_url: str, key_pair: tuple[str, str], tmp: Path, **extra: str
) -> LicenseServer:
    port = free_port()
    env = {
        "MESHQ_LICENSING_ROLE": "server",
        "MESHQ_LICENSE_SERVER_PORT": str(port),
        "MESHQ_POSTGRES_URL": database_url,
        "MESHQ_LICENSE_SIGNING_KEY": key_pair[0],
        "MESHQ_LICENSE_MASTER_KEY": "master-" + uuid.uuid4().hex,
        "MESHQ_LICENSE_ADMIN_TOKEN": ADMIN_TOKEN,
        "MESHQ_DATA_DIR": str(tmp / "server-data"),
        **extra,
    }
    proc = ServiceProc(
        module="meshq_licensing", port=port, env=env, log_path=tmp / "logs" / "license-server.log"
    )
    proc.start().wait_healthy()
    return LicenseServer(proc, env, key_pair[1])


@pytest.fixture
def license_server(new_database, key_pair, tmp_path: Path) -> Iterator[LicenseServer]:
    server = start_server(new_database(), key_pair, tmp_path)
    yield server
    server.proc.stop()


@pytest.fixture
def make_server(new_database, key_pair, tmp_path: Path) -> Iterator[Callable[..., LicenseServer]]:
    servers: list[LicenseServer] = []

    def make(**extra: str) -> LicenseServer:
        server = start_server(new_database(), key_pair, tmp_path, **extra)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.proc.stop()
