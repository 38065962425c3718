"""Named API keys: made by the CLI, stored hashed, accepted by the gateway, revoked at once."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from litestar import Request, get
from litestar.testing import TestClient
from meshq_query_gateway.apikeys import KeyFile
from meshq_query_gateway.auth import ApiKeyMiddleware, principal_of
from meshq_runtime.http import build_app
from network_discovery.cli.main import cli
from pydantic import SecretStr


@get("/whoami")
async def whoami(request: Request) -> dict[str, object]:  # type: ignore[type-arg]
    who = principal_of(request.scope)
    assert who is not None
    return {
        "name": who.name,
        "groups": sorted(who.groups),
        "admin": who.admin_key,
        "identity": who.identity,
    }


def _create(path: Path, name: str, *groups: str) -> str:
    args = ["apikey", "create", name, "--file", str(path)]
    for g in groups:
        args += ["--group", g]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_cli_keys_authenticate_until_revoked(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    token = _create(path, "ci", "Network-Ops", "Management")
    stored = path.read_text()
    assert token not in stored and json.loads(stored)["keys"][0]["sha256"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    app = build_app(
        service="gw",
        route_handlers=[whoami],
        middleware_extra=[ApiKeyMiddleware(SecretStr("admin-key"), KeyFile(path, check_every=0))],
    )
    with TestClient(app) as client:
        me = client.get("/whoami", headers={"X-API-Key": token}).json()
        key = json.loads(stored)["keys"][0]["id"]
        assert me == {
            "name": "ci",
            "groups": ["Management", "Network-Ops"],
            "admin": False,
            "identity": f"api_key:{key}",  # the key's id, never its name
        }
        admin = client.get("/whoami", headers={"X-API-Key": "admin-key"}).json()
        assert admin["admin"] is True and admin["identity"] == "api_key:admin"
        forged = token[:-4] + "AAAA"
        assert client.get("/whoami", headers={"X-API-Key": forged}).status_code == 401
        listed = CliRunner().invoke(cli, ["apikey", "list", "--file", str(path)])
        assert "ci" in listed.output and token not in listed.output
        revoked = CliRunner().invoke(cli, ["apikey", "revoke", "ci", "--file", str(path)])
        assert revoked.exit_code == 0, revoked.output
        gone = client.get("/whoami", headers={"X-API-Key": token})
        assert gone.status_code == 401 and gone.json()["detail"] == "the X-API-Key is not valid"


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    _create(path, "ci")
    again = CliRunner().invoke(cli, ["apikey", "create", "ci", "--file", str(path)])
    assert again.exit_code != 0 and again.output.count("\n") == 1
    assert "active key named 'ci'" in again.output
    missing = CliRunner().invoke(cli, ["apikey", "revoke", "nobody", "--file", str(path)])
    assert missing.exit_code != 0 and "meshq apikey list" in missing.output


def test_the_admin_identity_is_reserved_and_names_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    for name in ("admin", "ADMIN", " Admin ", "anonymous"):
        taken = CliRunner().invoke(cli, ["apikey", "create", name, "--file", str(path)])
        assert taken.exit_code != 0 and "reserved" in taken.output, name
    odd = CliRunner().invoke(cli, ["apikey", "create", "ci bot", "--file", str(path)])
    assert odd.exit_code != 0 and "letters, digits" in odd.output
    _create(path, "ci")
    twin = CliRunner().invoke(cli, ["apikey", "create", "CI", "--file", str(path)])
    assert twin.exit_code != 0 and "active key named 'CI'" in twin.output


def test_two_keys_that_shared_a_name_are_two_identities(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = _create(path, "ci")
    assert CliRunner().invoke(cli, ["apikey", "revoke", "ci", "--file", str(path)]).exit_code == 0
    second = _create(path, "ci")
    app = build_app(
        service="gw",
        route_handlers=[whoami],
        middleware_extra=[ApiKeyMiddleware(SecretStr("admin-key"), KeyFile(path, check_every=0))],
    )
    with TestClient(app) as client:
        assert client.get("/whoami", headers={"X-API-Key": first}).status_code == 401
        me = client.get("/whoami", headers={"X-API-Key": second}).json()
    ids = [k["id"] for k in json.loads(path.read_text())["keys"]]
    assert me["identity"] == f"api_key:{ids[1]}" and ids[0] != ids[1]
