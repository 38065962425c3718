"""What the blocking and the asyncio client share: each call as data (method, path, query,
body, how its answer is read), the request built from it, and the errors a transport failure
or an error answer becomes. The two clients only send."""

from __future__ import annotations

import math
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from network_discovery.client._errors import ApiError, ClientError, StackNotFound, UnexpectedAnswer
from network_discovery.client._models import (
    NetboxSyncReceipt,
    PatchReceipt,
    ReplayCounts,
    SnapshotReceipt,
    SnapshotStatus,
)
from network_discovery.client._settings import API_URL_ENV, ClientSettings

__all__ = [
    "MAX_WAIT",
    "Call",
    "Probe",
    "agzip",
    "gzip_chunks",
    "pieces",
    "unreachable",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: The longest a snapshot's status is long-polled in one call (the server's own bound).
MAX_WAIT = 60.0
#: A poll of :func:`wait_for_snapshot` asks for at most this long.
POLL_WAIT = 30.0
#: Bytes handed to the compressor (and to the connection) at a time.
CHUNK = 64 * 1024

Export = Literal["jsonl", "csv"]
Direction = Literal["push", "pull", "both"]
ProbePath = Literal["/health", "/ready", "/health/platform"]


@dataclass(frozen=True)
class Probe:
    """A probe's answer (probes need no credential): its status and body (JSON, else text)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class Call(Generic[T]):
    """One call of the REST API: what is sent, and how its (successful) answer is read."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, str] | None = None
    json: Any = None
    sends_json: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds this call may take, when not the client's timeout (a long-poll).
    timeout: float | None = None
    #: A probe: sent without the credential, and any status is an answer.
    probe: bool = False

    def request(
        self, http: httpx.Client | httpx.AsyncClient, settings: ClientSettings, content: Any = None
    ) -> httpx.Request:
        headers = {} if self.probe else settings.request_headers()
        headers.update(self.headers)
        return http.build_request(
            self.method,
            settings.url + self.path,
            params=self.params,
            json=self.json if self.sends_json else None,
            content=content,
            headers=headers,
            timeout=_timeout(self.timeout if self.timeout is not None else settings.timeout),
        )


def _timeout(seconds: float | None) -> Any:
    return httpx.USE_CLIENT_DEFAULT if seconds is None else seconds


def unreachable(settings: ClientSettings, exc: httpx.HTTPError) -> ClientError:
    """A transport failure as the error to show: nothing answers at the URL (or in time)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return StackNotFound(
            f"the REST API at {settings.url} does not answer in time ({name}); retry, or check "
            "that the gateway and what is behind it are up",
            url=settings.url,
            reason=name,
        )
    if isinstance(exc, httpx.TransportError):
        return StackNotFound(
            f"the REST API at {settings.url} does not answer ({name}); is 'meshq serve' "
            f"running, and is {API_URL_ENV} (meshq: --api-url) right?",
            url=settings.url,
            reason=name,
        )
    return ClientError(f"the call to the REST API at {settings.url} failed: {name}: {exc}")


def refused(response: httpx.Response) -> ApiError | None:
    """The error an answer is (its body read), None when it is a success."""
    if response.status_code < 400:
        return None
    return ApiError.from_response(response)


# --- reading answers ---------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UnexpectedAnswer(
            f"{response.request.method} {response.request.url.path} was answered with something "
            f"that is not JSON; is {API_URL_ENV} the MeshOptixIQ REST API?",
            status=response.status_code,
        ) from None


def _object(response: httpx.Response) -> dict[str, Any]:
    body = _json(response)
    if not isinstance(body, dict):
        raise _shape(response, "a JSON object")
    return body


def _array(response: httpx.Response) -> list[Any]:
    body = _json(response)
    if not isinstance(body, list):
        raise _shape(response, "a JSON array")
    return body


def _catalogue(response: httpx.Response) -> list[dict[str, Any]]:
    body = _json(response)
    if isinstance(body, dict):  # an older gateway wrapped the list
        body = body.get("queries", [])
    if not isinstance(body, list):
        raise _shape(response, "a JSON array")
    return [q for q in body if isinstance(q, dict) and q.get("name")]


def _text(response: httpx.Response) -> str:
    return response.text


def _model(cls: type[M]) -> Callable[[httpx.Response], M]:
    def read(response: httpx.Response) -> M:
        try:
            return cls.model_validate(_json(response))
        except ValidationError as exc:
            raise _shape(response, f"a {cls.__name__} ({exc.error_count()} invalid)") from None

    return read


def _probe(response: httpx.Response) -> Probe:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    return Probe(response.status_code, body)


def _shape(response: httpx.Response, expected: str) -> UnexpectedAnswer:
    return UnexpectedAnswer(
        f"{response.request.method} {response.request.url.path} answered {response.status_code} "
        f"without {expected}; is {API_URL_ENV} the MeshOptixIQ REST API?",
        status=response.status_code,
    )


# --- the calls -----------------------------------------------------------------------------------


def _q(name: str) -> str:
    return quote(name, safe="")


def list_queries() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/queries", _catalogue)


def run_query(
    name: str, params: Mapping[str, Any] | None, limit: int | None, cursor: str | None
) -> Call[dict[str, Any]]:
    page = {k: str(v) for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
    return Call(
        "POST",
        f"/queries/{_q(name)}",
        _object,
        params=page or None,
        json=dict(params or {}),
        sends_json=True,
    )


def license_state() -> Call[dict[str, Any]]:
    return Call("GET", "/license", _object)


def ansible_inventory() -> Call[dict[str, Any]]:
    return Call("GET", "/inventory/ansible", _object, params={"format": "json"})


def ansible_inventory_text(fmt: Literal["json", "ini"]) -> Call[str]:
    return Call("GET", "/inventory/ansible", _text, params={"format": fmt})


def chaos_simulate(scenario: str, target: str, depth: int) -> Call[dict[str, Any]]:
    body = {"scenario_type": scenario, "target": target, "depth": depth}
    return Call("POST", "/graph/chaos-simulate", _object, json=body, sends_json=True)


def whatif(changes: list[Mapping[str, Any]]) -> Call[dict[str, Any]]:
    body = {"changes": [dict(c) for c in changes]}
    return Call("POST", "/graph/whatif", _object, json=body, sends_json=True)


def list_snapshots() -> Call[list[Any]]:
    return Call("GET", "/snapshots", _array)


def snapshot_diff(a: str, b: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/snapshots/{_q(a)}/diff/{_q(b)}", _object)


def submit_snapshot(gzip: bool) -> Call[SnapshotReceipt]:
    headers = {"Content-Type": "application/json"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return Call("POST", "/snapshots", _model(SnapshotReceipt), headers=headers)


#: Most patches in one ``POST /snapshots/patches``.
MAX_PATCHES = 10_000


def submit_patches(patches: list[Mapping[str, Any]]) -> Call[PatchReceipt]:
    if not 1 <= len(patches) <= MAX_PATCHES:
        raise ValueError(f"send 1 to {MAX_PATCHES} patches at a time, not {len(patches)}")
    return Call(
        "POST",
        "/snapshots/patches",
        _model(PatchReceipt),
        json={"patches": list(patches)},
        sends_json=True,
    )


def snapshot_status(snapshot_id: str, wait: float, timeout: float | None) -> Call[SnapshotStatus]:
    if not math.isfinite(wait) or wait < 0:
        raise ValueError(f"wait must be 0 to {MAX_WAIT:g} seconds, not {wait!r}")
    wait = min(wait, MAX_WAIT)
    params = {"wait": f"{wait:g}"} if wait > 0 else None
    return Call(
        "GET",
        f"/snapshots/{_q(snapshot_id)}",
        _model(SnapshotStatus),
        params=params,
        # a long-poll takes its wait, and the answer some more
        timeout=max(timeout or 0.0, wait + 15.0) if wait > 0 else None,
    )


def still_waiting(snapshot_id: str, status: str, timeout: float) -> TimeoutError:
    return TimeoutError(
        f"snapshot {snapshot_id} was still {status} after {timeout:g} s; it may yet be applied: "
        f"GET /snapshots/{snapshot_id} tells"
    )


def audit_verify(start: int) -> Call[dict[str, Any]]:
    return Call("GET", "/audit/verify", _object, params={"from": str(start)})


def audit_export(since: str | None, fmt: Export) -> Call[None]:
    params = {"format": fmt, **({"since": since} if since else {})}
    return Call("GET", "/audit/export", lambda _: None, params=params)


def soar_replay() -> Call[ReplayCounts]:
    return Call("POST", "/soar/replay", _model(ReplayCounts))


def netbox_sync(direction: Direction, dry_run: bool) -> Call[NetboxSyncReceipt]:
    body = {"direction": direction, "dry_run": dry_run}
    return Call("POST", "/netbox/sync", _model(NetboxSyncReceipt), json=body, sends_json=True)


def probe(path: ProbePath) -> Call[Probe]:
    return Call("GET", path, _probe, probe=True)


# --- request bodies ------------------------------------------------------------------------------


def pieces(body: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterator[bytes]:
    """A body as chunks of at most :data:`CHUNK` bytes (an iterable is passed on as it is)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        view = memoryview(body)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    for chunk in body:
        yield bytes(chunk)


def _compressor() -> Any:
    return zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # the gzip container


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """gzip, chunk by chunk: the whole body is never held (compressed or not)."""
    z = _compressor()
    for chunk in chunks:
        out = z.compress(chunk)
        if out:
            yield out
    yield z.flush()


async def agzip(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """:func:`gzip_chunks` over an asynchronous body."""
    z = _compressor()
    async for chunk in chunks:
        out = z.compress(bytes(chunk))
        if out:
            yield out
    yield z.flush()


async def as_async(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
