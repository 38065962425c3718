"""The production client (ClickHouse's HTTP interface) against a stand-in server: the HTTP
interface as ClickHouse documents it (statement in the body or in ``query``, parameters as
``param_<name>``, an insert's rows as the body in the format its ``FORMAT`` names, the answer
in the format the statement names, errors as a non-200 status with the message), executing on
ClickHouse's own engine in-process (chdb). No ClickHouse server runs here; the same store
answers as on the embedded engine."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pytest
from network_discovery.flows.store import ClickHouseHTTP, FlowStore, FlowStoreError
from support.flow_store import fresh_store, records

_INSERT = re.compile(r"^(INSERT INTO \S+ \([^)]*\).*?)\s+FORMAT ArrowStream\s*$", re.S)
_SELECT = re.compile(r"^(.*?)\s+FORMAT ArrowStream\s*$", re.S)


class _Handler(BaseHTTPRequestHandler):
    engine: Any = None  # the chdb backend the stand-in executes on
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        params = {k[6:]: v for k, v in query.items() if k.startswith("param_")}
        self.seen.append({"query": query, "user": self.headers.get("X-ClickHouse-User")})
        try:
            if "query" in query:  # an insert: rows in the body
                found = _INSERT.match(query["query"])
                assert found is not None, query["query"]
                table = pa.ipc.open_stream(pa.BufferReader(body)).read_all()
                self.engine.insert_select(found[1], table, params)
                answer = b""
            else:
                text = body.decode()
                found = _SELECT.match(text)
                if found is not None:
                    answer = self.engine._run(found[1], "ArrowStream", params).bytes()
                else:
                    self.engine._run(text, "CSV", params)
                    answer = b""
        except Exception as exc:  # the server's error answer
            self.send_response(500)
            message = f"Code: 62. DB::Exception: {exc}".encode()
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class _Engine:
    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def _run(self, sql: str, fmt: str, params: dict[str, str]) -> Any:
        return self.backend._run(sql, fmt, params)

    def insert_select(self, head: str, table: pa.Table, params: dict[str, str]) -> None:
        batch = table  # noqa: F841 - read by chdb's Python() table function
        self.backend._run(f"{head} SELECT * FROM Python(batch)", "CSV", params)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    embedded = fresh_store()
    _Handler.engine = _Engine(embedded.backend)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sample() -> list[dict[str, object]]:
    return [
        {
            "src_addr": "10.0.0.1",
            "dst_addr": "10.0.0.2",
            "proto": 6,
            "src_port": 40000,
            "dst_port": 443,
            "bytes": 100,
            "packets": 1,
            "input_if": 1,
            "output_if": 2,
        },
        {
            "src_addr": "10.0.0.2",
            "dst_addr": "10.0.0.1",
            "proto": 6,
            "src_port": 443,
            "dst_port": 40000,
            "bytes": 1000,
            "packets": 2,
            "input_if": 2,
            "output_if": 1,
            "sampling_rate": 4,
        },
    ]


def test_the_http_client_answers_as_the_embedded_engine(server: str) -> None:
    import time
    import uuid

    now = time.time()
    database = f"h_{uuid.uuid4().hex[:12]}"
    remote = FlowStore(ClickHouseHTTP(server, user="flows", password="secret"), database)
    embedded = fresh_store()
    for store in (remote, embedded):
        store.insert(records(_sample()), now, "batch-a")
        store.insert(records(_sample()), now, "batch-a")  # the same batch again
    assert remote.count() == embedded.count() == 2
    for by in ("src", "dst", "pair", "app"):
        assert remote.top_talkers(by, until=now) == embedded.top_talkers(by, until=now)
    assert remote.conversations(until=now) == embedded.conversations(until=now)
    assert remote.interfaces(until=now) == embedded.interfaces(until=now)
    assert remote.top_talkers("src", until=now)[0]["bytes"] == 4000
    # counter samples and options records' names and rates, the same both ways
    from network_discovery.flows.decode import DomainOptions
    from network_discovery.flows.sflow import COUNTER_SCHEMA, counters_table

    sample = {name: 0 for name in COUNTER_SCHEMA.names[2:]} | {"if_index": 5, "if_speed": 10**9}
    for store in (remote, embedded):
        for i, octets in enumerate((1000, 4000)):
            counters = counters_table("192.0.2.1", 0, [{**sample, "in_octets": octets}])
            store.insert_counters(counters, now - 20 + 10 * i, f"c-{i}")
        store.record_options([DomainOptions("192.0.2.1", 10, 1, 100, {2: 50}, {5: "Et5"})], now)
    assert remote.interface_counters(until=now) == embedded.interface_counters(until=now)
    assert remote.interface_counters(until=now)[0]["in_octets"] == 3000
    assert remote.interface_names() == embedded.interface_names()
    assert [r["name"] for r in remote.interface_names()] == ["Et5"]
    assert remote.sampling_rates() == embedded.sampling_rates()
    # parameters travel as param_<name>, never in the statement
    selects = [s["query"] for s in _Handler.seen if "param_exporters" in s["query"]]
    assert selects and all(s["param_exporters"] == "[]" for s in selects)
    assert {s["user"] for s in _Handler.seen} == {"flows"}
    remote.close()


def test_a_server_error_is_a_store_error(server: str) -> None:
    backend = ClickHouseHTTP(server)
    with pytest.raises(FlowStoreError, match="500"):
        backend.query("SELECT no_such_function()")
    backend.close()
    away = ClickHouseHTTP("http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(FlowStoreError, match="ClickHouse at"):
        away.query("SELECT 1")
    away.close()


def test_the_writer_journal_recovers_through_the_http_client(server: str) -> None:
    """A group journaled through the HTTP client (Arrow IPC payloads as String values), its
    writer failing before it noted its ids: a new writer completes it from the journal, and
    the batches delivered again in other groups count once."""
    import uuid

    from meshq_graph_engine.flow_enrich import FlowEnricher
    from meshq_graph_engine.flow_intake import FlowWriter
    from support.flow_writer_proc import make_batch, totals

    remote = FlowStore(ClickHouseHTTP(server), f"j_{uuid.uuid4().hex[:12]}")
    first = FlowWriter(remote)
    insert = remote.backend.insert

    def failing(table: str, data: pa.Table, settings: str, params: Any) -> None:
        if table.endswith(".flow_batches"):
            raise FlowStoreError("the writer stopped")
        insert(table, data, settings, params)

    remote.backend.insert = failing  # type: ignore[method-assign]
    group = [make_batch(i) for i in (0, 1, 2)]
    with pytest.raises(FlowStoreError):
        first.write(group, [FlowEnricher.blank(b.records) for b in group])
    remote.backend.insert = insert  # type: ignore[method-assign]
    once = totals(remote)
    writer = FlowWriter(remote)  # a new writer on the same server
    again = [make_batch(i) for i in (2, 1)]
    writer.write(again, [FlowEnricher.blank(b.records) for b in again])
    assert writer.counts["recovered"] == 1 and writer.counts["already_stored"] == 2
    after = totals(remote)
    assert after["journal"] == [0] and after["ledger"] == [3]
    assert {k: v for k, v in after.items() if k not in ("journal", "ledger")} == {
        k: v for k, v in once.items() if k not in ("journal", "ledger")
    }
    assert after["flows"][0] == 30
    remote.close()
