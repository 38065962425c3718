"""The ``meshq`` commands reach the REST API through the client: ``--api-url``/``--api-key``
before the environment, the gateway's routes for the audit log and SOAR (no internal URL, no
service credential), and a refusal told in one line. A fake gateway answers over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from network_discovery.cli import cli

KEY = "cli-test-key"


class FakeGateway:
    """Answers a few gateway routes; remembers each request (method, path, query, key)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.verify: dict[str, Any] = {
            "checked": 4,
            "from": 1,
            "last_seq": 4,
            "checkpoints": 1,
            "break": None,
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                outer.seen.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": parse_qs(parts.query),
                        "key": self.headers.get("X-API-Key"),
                        "token": self.headers.get("X-MeshQ-Service-Token"),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                status, kind, body = outer.route(self.command, parts.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if self.seen[-1]["key"] != KEY:
            return self.problem(401, "Unauthorized", "the X-API-Key is not valid")
        if path == "/queries":
            return (
                200,
                "application/json",
                json.dumps(
                    [{"name": "all_devices", "category": "Inventory", "summary": "Every device."}]
                ).encode(),
            )
        if path == "/audit/verify":
            return 200, "application/json", json.dumps(self.verify).encode()
        if path == "/audit/export":
            return 200, "application/x-ndjson", b'{"seq": 1}\n{"seq": 2}\n'
        if path == "/soar/replay":
            return self.problem(
                403,
                "Forbidden",
                "only the admin (API_KEY or the admin role), or under RBAC a role granting "
                "'execute' on 'soar_replay', may do this",
            )
        return self.problem(404, "Not Found", f"no route {path}")

    @staticmethod
    def problem(status: int, title: str, detail: str) -> tuple[int, str, bytes]:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        return status, "application/problem+json", json.dumps(body).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    yield fake
    fake.close()


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No stack in the environment, no endpoints file."""
    for name in (
        "MESHOPTIXIQ_API_URL",
        "MESHOPTIXIQ_API_KEY",
        "MESHQ_SERVICE_TOKEN",
        "MESHQ_AUDIT_URL",
        "MESHQ_SOAR_DISPATCHER_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MESHQ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MESHQ_NO_LICENSE_WARNING", "1")
    return {}


def _key() -> dict[str, str]:
    return {"MESHOPTIXIQ_API_KEY": KEY}


def meshq(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def test_the_flags_name_the_gateway_and_the_key(gateway: FakeGateway, bare: Any) -> None:
    result = meshq("--api-url", gateway.url, "--api-key", KEY, "query", "list")
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["all_devices", "Inventory", "Every", "device."]
    assert gateway.seen[-1]["key"] == KEY


def test_the_flags_come_before_the_environment(gateway: FakeGateway, bare: Any) -> None:
    env = {"MESHOPTIXIQ_API_URL": "http://127.0.0.1:9", "MESHOPTIXIQ_API_KEY": "wrong"}
    flagged = meshq("--api-url", gateway.url, "--api-key", KEY, "query", "list", env=env)
    assert flagged.exit_code == 0, flagged.output
    from_env = meshq("query", "list", env={"MESHOPTIXIQ_API_URL": gateway.url, **_key()})
    assert from_env.exit_code == 0, from_env.output
    refused = meshq("--api-key", "nope", "query", "list", env={"MESHOPTIXIQ_API_URL": gateway.url})
    assert refused.exit_code == 1
    assert refused.stderr == "meshq: 401: the X-API-Key is not valid\n"


def test_audit_verify_and_export_go_through_the_gateway(gateway: FakeGateway, bare: Any) -> None:
    env = {"MESHOPTIXIQ_API_URL": gateway.url, "MESHOPTIXIQ_API_KEY": KEY}
    verified = meshq("audit", "verify", "--from", "2", env=env)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == (
        "audit log intact: 4 record(s) from 1 to 4 verified, against 1 signed checkpoint(s)\n"
    )
    call = gateway.seen[-1]
    assert (call["path"], call["query"], call["token"]) == ("/audit/verify", {"from": ["2"]}, None)

    gateway.verify = {**gateway.verify, "break": {"seq": 2, "kind": "deleted", "reason": "gap"}}
    broken = meshq("audit", "verify", env=env)
    assert broken.exit_code == 1
    assert broken.stderr == "meshq: audit log broken at record 2: deleted (gap)\n"

    exported = meshq(
        "audit", "export", "--since", "2026-01-01T00:00:00Z", "--format", "csv", env=env
    )
    assert exported.exit_code == 0 and exported.stdout == '{"seq": 1}\n{"seq": 2}\n'
    assert gateway.seen[-1]["query"] == {"since": ["2026-01-01T00:00:00Z"], "format": ["csv"]}


def test_a_refused_replay_is_one_line(gateway: FakeGateway, bare: Any) -> None:
    env = {"MESHOPTIXIQ_API_URL": gateway.url, "MESHOPTIXIQ_API_KEY": KEY}
    refused = meshq("soar", "replay", env=env)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("meshq: 403: only the admin")
    assert refused.stderr.count("\n") == 1
    assert gateway.seen[-1]["method"] == "POST" and gateway.seen[-1]["path"] == "/soar/replay"


def test_without_a_stack_the_commands_say_what_to_set(bare: Any) -> None:
    for command in (["audit", "verify"], ["soar", "replay"], ["snapshots"], ["query", "list"]):
        result = meshq(*command)
        assert result.exit_code == 1, command
        assert result.stderr.startswith("meshq: no running MeshOptixIQ stack found"), command
        assert "MESHOPTIXIQ_API_URL" in result.stderr and "--api-url" in result.stderr
        assert "MESHQ_SERVICE_TOKEN" not in result.stderr
    silent = meshq("--api-url", "http://127.0.0.1:9", "--api-key", "k", "audit", "verify")
    assert silent.exit_code == 1
    assert "the REST API at http://127.0.0.1:9 does not answer (ConnectError)" in silent.stderr


def test_simulate_exits_4_when_the_gateway_is_not_there(bare: Any) -> None:
    result = meshq("simulate", "device-failure", "sw1")
    assert result.exit_code == 4
    assert "no running MeshOptixIQ stack found" in result.stderr
