"""The REST API client: where it finds the gateway, how it shapes each call, how it reads an
error answer (the one problem+json reader), and the snapshot calls (``POST /snapshots``,
``GET /snapshots/{id}``), against ``httpx.MockTransport``."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from network_discovery.client import (
    ApiError,
    AsyncMeshqClient,
    ClientSettings,
    MeshqClient,
    SnapshotReceipt,
    SnapshotStatus,
    StackNotFound,
    UnexpectedAnswer,
    resolve_settings,
)

URL = "http://gw.test"
KEY = "test-key"
PROBLEM = {"content-type": "application/problem+json"}

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **settings: Any) -> MeshqClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return MeshqClient(ClientSettings(URL, **{"api_key": KEY, **settings}), http=http)


def aclient(handler: Handler) -> AsyncMeshqClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AsyncMeshqClient(ClientSettings(URL, api_key=KEY), http=http)


def problem(status: int, **members: Any) -> httpx.Response:
    body = {"type": "about:blank", "status": status, **members}
    return httpx.Response(status, json=body, headers=PROBLEM)


# --- settings --------------------------------------------------------------------------------


def write_endpoints(tmp_path: Path, **entries: str) -> dict[str, str]:
    run = tmp_path / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "endpoints.json").write_text(json.dumps(entries))
    return {"MESHQ_DATA_DIR": str(tmp_path)}


def test_flags_come_before_the_environment_before_the_endpoints_file(tmp_path: Path) -> None:
    env = write_endpoints(tmp_path, gateway="http://local:8000/", api_key="local-admin")
    assert resolve_settings(env=env) == ClientSettings("http://local:8000", api_key="local-admin")
    env |= {"MESHOPTIXIQ_API_URL": "http://env:8000", "MESHOPTIXIQ_API_KEY": "env-key"}
    chosen = resolve_settings(env=env)
    assert (chosen.url, chosen.api_key) == ("http://env:8000", "env-key")
    flagged = resolve_settings("http://flag:9/", "flag-key", env=env)
    assert (flagged.url, flagged.api_key) == ("http://flag:9", "flag-key")


def test_the_local_admin_key_goes_only_to_the_local_gateway(tmp_path: Path) -> None:
    env = write_endpoints(tmp_path, gateway="http://local:8000", api_key="local-admin")
    same = resolve_settings(env={**env, "MESHOPTIXIQ_API_URL": "http://local:8000/"})
    assert same.api_key == "local-admin"
    with pytest.raises(StackNotFound) as refused:
        resolve_settings("http://elsewhere:8000", env=env)
    assert str(refused.value) == (
        "no API key for the REST API at http://elsewhere:8000: set MESHOPTIXIQ_API_KEY "
        "(meshq: --api-key)"
    )


def test_nothing_configured_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(StackNotFound) as none:
        resolve_settings(env={"MESHQ_DATA_DIR": str(tmp_path)})
    message = str(none.value)
    assert "meshq serve" in message and "MESHOPTIXIQ_API_URL" in message
    assert "--api-url" in message and none.value.url is None
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "endpoints.json").write_text("{not json")
    with pytest.raises(StackNotFound, match=r"cannot read .*endpoints\.json"):
        resolve_settings(env={"MESHQ_DATA_DIR": str(tmp_path)})


# --- the problem reader -----------------------------------------------------------------------


def test_a_problem_is_read_with_its_fields_and_members() -> None:
    response = problem(
        422,
        title="Invalid parameters",
        detail="2 invalid",
        errors=[
            {"field": "vlan", "message": "expected an integer"},
            {"field": "depth", "message": None},
            "not an entry",
        ],
        feature="firewall_queries",
    )
    error = ApiError.from_response(response)
    assert (error.status, error.title, error.detail, error.type) == (
        422,
        "Invalid parameters",
        "2 invalid",
        "about:blank",
    )
    assert error.fields == ["vlan", "depth"]
    assert error.extensions == {"feature": "firewall_queries"}
    assert str(error) == "422: 2 invalid (vlan: expected an integer; depth)"
    assert error.problem


def test_retry_after_from_the_header_in_seconds_or_as_a_date_else_the_body() -> None:
    seconds = httpx.Response(429, json={"title": "Too Many Requests"}, headers={"Retry-After": "7"})
    assert ApiError.from_response(seconds).retry_after == 7
    assert str(ApiError.from_response(seconds)) == "429: Too Many Requests (retry in 7 s)"
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    dated = ApiError.from_response(httpx.Response(503, headers={"Retry-After": later}))
    assert dated.retry_after is not None and 100 <= dated.retry_after <= 121
    body = ApiError.from_response(problem(429, title="Slow down", retry_after=12))
    assert body.retry_after == 12
    assert ApiError.from_response(problem(429, retry_after="soon")).retry_after is None


def test_an_answer_that_is_no_problem_is_quoted_short() -> None:
    page = "<html>\n<h1>Bad   Gateway</h1>" + "x" * 1000
    error = ApiError.from_response(httpx.Response(502, text=page))
    assert not error.problem and error.title == "Bad Gateway"
    assert error.detail.startswith("<html> <h1>Bad Gateway</h1>") and len(error.detail) == 300
    empty = ApiError.from_response(httpx.Response(500))
    assert str(empty) == "500: Internal Server Error"
    listed = ApiError.from_response(httpx.Response(400, json=["a"]))
    assert str(listed) == '400: ["a"]'


# --- shaping the calls -------------------------------------------------------------------------


def test_queries_carry_the_key_quote_the_name_and_page(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/queries":
            return httpx.Response(200, json=[{"name": "a"}, {"nameless": 1}])
        return httpx.Response(200, json={"rows": [], "row_count": 0})

    with client(answer) as api:
        assert api.list_queries() == [{"name": "a"}]
        api.run_query("odd/name", {"vlan": 110}, limit=5, cursor="c1")
    run = seen[1]
    assert run.method == "POST" and run.url.raw_path == b"/queries/odd%2Fname?limit=5&cursor=c1"
    assert json.loads(run.content) == {"vlan": 110}
    assert all(r.headers["x-api-key"] == KEY for r in seen)


def test_a_bearer_token_and_extra_headers_are_sent_probes_go_bare() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok"})

    with client(answer, api_key=None, bearer="tok", headers={"X-Correlation-ID": "c-1"}) as api:
        api.license()
        probe = api.probe("/ready")
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert seen[0].headers["x-correlation-id"] == "c-1"
    assert "authorization" not in seen[1].headers and "x-api-key" not in seen[1].headers
    assert probe.ok and probe.body == {"status": "ok"}


def test_a_refusal_is_an_api_error_and_silence_names_the_url() -> None:
    with client(lambda r: problem(403, title="Forbidden", detail="no")) as api:
        with pytest.raises(ApiError) as refused:
            api.audit_verify(3)
    assert refused.value.status == 403 and str(refused.value) == "403: no"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with client(down) as api, pytest.raises(StackNotFound) as silent:
        api.list_snapshots()
    assert silent.value.url == URL and silent.value.reason == "ConnectError"
    assert "does not answer" in str(silent.value) and "MESHOPTIXIQ_API_URL" in str(silent.value)

    with client(lambda r: httpx.Response(200, text="<html>")) as api:
        with pytest.raises(UnexpectedAnswer, match="not JSON"):
            api.list_queries()


def test_operations_are_typed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/soar/replay":
            counts = {"replayed": 2, "delivered": 1, "dead_lettered": 1, "skipped": 0}
            return httpx.Response(200, json={**counts, "imported": 1, "later": True})
        if request.url.path == "/netbox/sync":
            body = json.loads(request.content)
            return httpx.Response(
                202,
                json={**body, "requested": True, "requested_by": "ops", "event_id": "e"}
                | {"correlation_id": "c"},
            )
        return httpx.Response(200, json={"checked": 1, "break": None})

    with client(answer) as api:
        counts = api.soar_replay()
        assert (counts.replayed, counts.dead_lettered, counts.imported) == (2, 1, 1)
        receipt = api.netbox_sync("pull", dry_run=True)
        assert (receipt.direction, receipt.dry_run, receipt.requested_by) == ("pull", True, "ops")
        assert api.audit_verify()["checked"] == 1


def test_the_audit_export_streams_and_names_its_format() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b'{"seq":1}\n{"seq":2}\n'))

    with client(answer) as api:
        assert b"".join(api.audit_export("2026-01-01T00:00:00Z", "csv")).count(b"\n") == 2
    assert dict(seen[0].url.params) == {"format": "csv", "since": "2026-01-01T00:00:00Z"}


async def test_the_async_client_makes_the_same_calls() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/audit/export":
            return httpx.Response(200, content=b"a\nb\n")
        if request.url.path == "/queries/q":
            return problem(404, title="Unknown query", detail="no query named 'q'")
        return httpx.Response(200, json=[{"name": "q"}])

    api = aclient(answer)
    assert await api.list_queries() == [{"name": "q"}]
    with pytest.raises(ApiError, match="404: no query named 'q'"):
        await api.run_query("q")
    assert b"".join([c async for c in api.audit_export()]) == b"a\nb\n"
    assert dict(seen[-1].url.params) == {"format": "jsonl"}
    await api.aclose()


# --- POST /snapshots and GET /snapshots/{id} ---------------------------------------------------

RECEIPT = {"snapshot_id": "s-1", "status": "accepted", "location": "/snapshots/s-1"}
APPLIED = {
    "snapshot_id": "s-1",
    "status": "applied",
    "source": "meshq-cli",
    "submitted_at": "2026-03-06T10:00:00Z",
    "finished_at": "2026-03-06T10:00:02Z",
    "result": {
        "scope_devices": 3,
        "added": {"device": 3},
        "removed": {},
        "updated": {"interface": 1},
        "empty": False,
    },
    "reason": None,
    "plan": None,
    "limit": None,
}


class Intake:
    """A gateway's POST /snapshots: what arrived, and how."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        headers = {"Location": RECEIPT["location"]}
        return httpx.Response(202, json=RECEIPT, headers=headers)

    async def async_call(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        return httpx.Response(202, json=RECEIPT, headers={"Location": RECEIPT["location"]})


def snapshot_chunks(count: int) -> Iterator[bytes]:
    yield b'{"snapshot_id": "s-1", "devices": ['
    for i in range(count):
        yield (b", " if i else b"") + json.dumps({"hostname": f"sw-{i}"}).encode()
    yield b"]}"


def test_a_snapshot_is_sent_gzipped_in_chunks() -> None:
    intake = Intake()
    with client(intake) as api:
        receipt = api.submit_snapshot(snapshot_chunks(5000))
    assert receipt == SnapshotReceipt(**RECEIPT)
    request = intake.requests[0]
    assert (request.method, request.url.path) == ("POST", "/snapshots")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers.get("transfer-encoding") == "chunked"  # streamed, no length
    assert "content-length" not in request.headers
    body = json.loads(gzip.decompress(intake.bodies[0]))
    assert len(body["devices"]) == 5000
    assert len(intake.bodies[0]) < len(b"".join(snapshot_chunks(5000))) // 4


def test_a_snapshot_as_bytes_plain_or_gzipped() -> None:
    document = json.dumps({"snapshot_id": "s-1", "blob": "x" * 200_000}).encode()
    intake = Intake()
    with client(intake) as api:
        api.submit_snapshot(document, gzip=False)
        api.submit_snapshot(document)
    plain, packed = intake.requests
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-length"] == str(len(document))
    assert intake.bodies[0] == document
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(intake.bodies[1]) == document


async def test_the_async_client_streams_an_async_snapshot() -> None:
    intake = Intake()
    api = AsyncMeshqClient(
        ClientSettings(URL, api_key=KEY),
        http=httpx.AsyncClient(transport=httpx.MockTransport(intake.async_call)),
    )

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in snapshot_chunks(100):
            yield chunk

    receipt = await api.submit_snapshot(chunks())
    assert receipt.location == "/snapshots/s-1"
    assert len(json.loads(gzip.decompress(intake.bodies[0]))["devices"]) == 100
    receipt = await api.submit_snapshot(list(snapshot_chunks(3)), gzip=False)
    assert json.loads(intake.bodies[1])["devices"][2] == {"hostname": "sw-2"}
    assert "content-encoding" not in intake.requests[1].headers
    await api.aclose()


def test_a_refused_snapshot_is_an_api_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        request.read()
        return problem(413, title="Too large", detail="the snapshot is over 4 GiB")

    with client(refuse) as api, pytest.raises(ApiError, match="413: the snapshot is over"):
        api.submit_snapshot(b"{}")


def test_the_status_of_a_snapshot_is_typed_and_long_polled() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/snapshots/unknown":
            return problem(404, title="Unknown snapshot", detail="no snapshot 'unknown'")
        return httpx.Response(200, json=APPLIED)

    with client(answer) as api:
        status = api.snapshot_status("s-1", wait=90)
        assert seen[0].url.params["wait"] == "60"  # the server's bound
        assert seen[0].extensions["timeout"]["read"] >= 75
        api.snapshot_status("s-1")
        assert "wait" not in seen[1].url.params
        with pytest.raises(ApiError) as unknown:
            api.snapshot_status("unknown", wait=1.5)
        assert seen[2].url.params["wait"] == "1.5"
        with pytest.raises(ValueError, match="wait"):
            api.snapshot_status("s-1", wait=-1)
    assert isinstance(status, SnapshotStatus) and status.done
    assert status.result is not None and status.result.added == {"device": 3}
    assert status.submitted_at == datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert unknown.value.status == 404


def test_a_rejected_snapshot_names_why() -> None:
    rejected = {
        **APPLIED,
        "status": "rejected",
        "result": None,
        "reason": "device limit",
        "plan": "starter",
        "limit": 50,
    }
    with client(lambda r: httpx.Response(200, json=rejected)) as api:
        status = api.wait_for_snapshot("s-1", timeout=5)
    assert (status.status, status.reason, status.plan, status.limit) == (
        "rejected",
        "device limit",
        "starter",
        50,
    )


def test_waiting_polls_until_the_snapshot_is_done() -> None:
    waits: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        waits.append(request.url.params["wait"])
        status = "applied" if len(waits) == 3 else "accepted"
        body = {**APPLIED, "status": status, **({} if status == "applied" else {"result": None})}
        return httpx.Response(200, json=body)

    with client(answer) as api:
        assert api.wait_for_snapshot("s-1", timeout=100).status == "applied"
    assert waits[0] == "30" and all(float(w) <= 30 for w in waits)


def test_waiting_gives_up_with_a_clear_message() -> None:
    accepted = {**APPLIED, "status": "accepted", "result": None, "finished_at": None}
    with client(lambda r: httpx.Response(200, json=accepted)) as api:
        with pytest.raises(TimeoutError) as late:
            api.wait_for_snapshot("s-1", timeout=0.05)
    assert str(late.value).startswith("snapshot s-1 was still accepted after 0.05 s")
    assert "GET /snapshots/s-1" in str(late.value)


async def test_the_async_client_waits_too() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        status = "applied" if calls == 2 else "accepted"
        return httpx.Response(200, json={**APPLIED, "status": status})

    api = aclient(answer)
    assert (await api.wait_for_snapshot("s-1", timeout=30)).status == "applied"
    accepted = aclient(lambda r: httpx.Response(200, json={**APPLIED, "status": "accepted"}))
    with pytest.raises(TimeoutError, match="still accepted"):
        await accepted.wait_for_snapshot("s-1", timeout=0)
    await api.aclose()
    await accepted.aclose()
