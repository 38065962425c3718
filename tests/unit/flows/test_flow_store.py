"""The flow store on ClickHouse's engine in-process (chdb): the rollup scaled by sampling,
each query's answer, idempotent batches, retention, and parameters that stay values."""

from __future__ import annotations

import time
from typing import Any

import pytest
from network_discovery.flows.store import (
    ExporterStatus,
    FlowStore,
    _addr_text,
    param_text,
    parse_duration,
    retention_from_env,
)
from support.flow_store import fresh_store, records

#: The middle of the current minute; queries are asked "as of" it (and the store's TTL keeps
#: only what is recent, so no fixed date in the past will do).
NOW = time.time() // 60 * 60 + 30


def _sample() -> list[dict[str, object]]:
    return [
        # 10.0.0.1 -> 10.0.0.2 https, and the answer
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
        },
        # DNS, sampled 1 in 10: counts 10 times
        {
            "src_addr": "10.0.0.1",
            "dst_addr": "10.0.0.3",
            "proto": 17,
            "src_port": 5000,
            "dst_port": 53,
            "bytes": 50,
            "packets": 3,
            "input_if": 1,
            "output_if": 3,
            "sampling_rate": 10,
        },
    ]


@pytest.fixture(scope="module")
def store() -> FlowStore:
    s = fresh_store()
    s.insert(records(_sample()), NOW, "batch-1")
    s.insert(records([{**r, "exporter": "192.0.2.2"} for r in _sample()[:1]]), NOW - 7200, "b-2")
    return s


def test_top_talkers_by_each_key(store: FlowStore) -> None:
    src = store.top_talkers("src", until=NOW)
    assert [(r["src"], r["bytes"], r["packets"], r["flows"]) for r in src] == [
        ("10.0.0.2", 1000, 2, 1),
        ("10.0.0.1", 600, 31, 2),
    ]
    assert all(r["dst"] is None and r["port"] is None for r in src)
    dst = store.top_talkers("dst", until=NOW)
    assert [(r["dst"], r["bytes"]) for r in dst] == [
        ("10.0.0.1", 1000),
        ("10.0.0.3", 500),
        ("10.0.0.2", 100),
    ]
    pair = store.top_talkers("pair", until=NOW, limit=1)
    assert [(r["src"], r["dst"], r["bytes"]) for r in pair] == [("10.0.0.2", "10.0.0.1", 1000)]
    app = store.top_talkers("app", until=NOW)
    assert [(r["proto"], r["port"], r["bytes"], r["packets"]) for r in app] == [
        (6, 443, 1100, 3),
        (17, 53, 500, 30),
    ]


def test_window_exporters_and_interface_filters(store: FlowStore) -> None:
    # the batch received two hours earlier is outside the last hour, inside the last three
    assert sum(r["bytes"] for r in store.top_talkers("src", until=NOW)) == 1600
    wide = store.top_talkers("src", until=NOW, minutes=180)
    assert sum(r["bytes"] for r in wide) == 1700
    assert store.top_talkers("src", until=NOW, exporters=["192.0.2.9"]) == []
    only = store.top_talkers("src", until=NOW, minutes=180, exporters=["192.0.2.2"])
    assert [(r["src"], r["bytes"]) for r in only] == [("10.0.0.1", 100)]
    on_if3 = store.top_talkers("pair", until=NOW, exporters=["192.0.2.1"], if_index=3)
    assert [(r["src"], r["dst"], r["bytes"]) for r in on_if3] == [("10.0.0.1", "10.0.0.3", 500)]
    app_on_if3 = store.top_talkers("app", until=NOW, exporters=["192.0.2.1"], if_index=3)
    assert [(r["proto"], r["port"], r["bytes"]) for r in app_on_if3] == [(17, 53, 500)]
    convs_on_if2 = store.conversations(until=NOW, exporters=["192.0.2.1"], if_index=2)
    assert [(r["a"], r["b"], r["bytes"]) for r in convs_on_if2] == [("10.0.0.1", "10.0.0.2", 1100)]
    with pytest.raises(ValueError, match="ifIndex"):
        store.top_talkers("src", until=NOW, if_index=3)
    assert store.seen_exporters(until=NOW, minutes=180) == ["192.0.2.1", "192.0.2.2"]


def test_conversations_sum_both_directions(store: FlowStore) -> None:
    rows = store.conversations(until=NOW)
    assert rows == [
        {
            "a": "10.0.0.1",
            "b": "10.0.0.2",
            "bytes_a_to_b": 100,
            "bytes_b_to_a": 1000,
            "packets_a_to_b": 1,
            "packets_b_to_a": 2,
            "flows": 2,
            "exporters": 1,
            "bytes": 1100,
        },
        {
            "a": "10.0.0.1",
            "b": "10.0.0.3",
            "bytes_a_to_b": 500,
            "bytes_b_to_a": 0,
            "packets_a_to_b": 30,
            "packets_b_to_a": 0,
            "flows": 1,
            "exporters": 1,
            "bytes": 500,
        },
    ]


def test_interfaces_in_and_out(store: FlowStore) -> None:
    rows = {r["if_index"]: r for r in store.interfaces(until=NOW)}
    assert (rows[1]["in_bytes"], rows[1]["out_bytes"]) == (600, 1000)
    assert (rows[2]["in_bytes"], rows[2]["out_bytes"]) == (1000, 100)
    assert (rows[3]["in_bytes"], rows[3]["out_packets"]) == (0, 30)
    one = store.interfaces(until=NOW, exporters=["192.0.2.1"], if_index=3)
    assert [r["if_index"] for r in one] == [3]


def test_a_batch_delivered_twice_is_stored_once() -> None:
    s = fresh_store()
    batch = records(_sample())
    assert s.insert(batch, NOW, "same-id") == 3
    s.insert(batch, NOW, "same-id")
    assert s.count() == 3
    assert sum(r["bytes"] for r in s.top_talkers("src", until=NOW)) == 1600  # rollup too
    for table in ("flows_1h", "flows_src_1h", "flows_dst_1h", "flows_app_1h", "flows_if_1h"):
        hourly = s.backend.query(f"SELECT sum(bytes) AS b FROM {s.database}.{table}")
        assert int(hourly["b"][0].as_py()) == (3200 if table == "flows_if_1h" else 1600), table
    s.insert(batch, NOW, "another-id")
    assert s.count() == 6
    assert s.insert(records([]), NOW, "empty") == 0


def test_exporter_status_keeps_the_last_report() -> None:
    s = fresh_store()
    s.insert(records(_sample()), NOW - 60, "b")
    first = ExporterStatus("192.0.2.1", NOW - 30, 10, 3, 1, 0, 3, 2, 10, 10)
    s.record_status([first], updated=NOW - 20)
    later = ExporterStatus("192.0.2.1", NOW - 5, 12, 30, 1, 5, 25, 2, 10, 10)
    s.record_status([later], updated=NOW - 1)
    [row] = s.exporters(now=NOW)
    assert (row["packets"], row["records"], row["lost"], row["received"]) == (12, 30, 5, 25)
    assert row["last_packet"].timestamp() == pytest.approx(NOW - 5, abs=0.01)
    assert row["rate"] == round(3 / 300, 3)  # 3 records stored in the last 5 minutes
    assert s.exporters(exporters=["192.0.2.7"], now=NOW) == []
    assert ExporterStatus.from_json(later.to_json()) == later


def test_hostile_values_stay_values() -> None:
    s = fresh_store()
    s.insert(records(_sample()), NOW, "x")
    evil = "x'); DROP TABLE flows; --"
    assert s.top_talkers("src", until=NOW, exporters=[evil, "a\\'b"]) == []
    assert s.count() == 3
    assert param_text(["a'b", "c\\d"]) == "['a\\'b','c\\\\d']"
    with pytest.raises(ValueError):
        s.top_talkers("src; DROP", until=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="database name"):
        FlowStore(s.backend, "meshq; DROP")


def test_retention_is_the_tables_ttl() -> None:
    s = fresh_store(retention_s=3600, rollup_retention_s=86400)
    ddl = s.backend.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String} ORDER BY name",
        {"db": s.database},
    ).to_pylist()
    by_name = {r["name"]: r["engine_full"] for r in ddl}
    assert "toIntervalSecond(3600)" in by_name["flows"]
    assert "toIntervalSecond(86400)" in by_name["flows_1m"]
    # records older than the retention go when the engine applies the TTL
    s.insert(records(_sample()), time.time() - 7200, "old")
    s.insert(records(_sample()[:1]), time.time(), "new")
    s.backend.execute(f"OPTIMIZE TABLE {s.database}.flows FINAL")
    assert s.count() == 1
    # reopening with another retention changes the tables' TTL
    again = FlowStore(s.backend, s.database, retention_s=7200, rollup_retention_s=86400)
    engine = again.backend.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'flows'",
        {"db": s.database},
    ).to_pylist()[0]["engine_full"]
    assert "toIntervalSecond(7200)" in engine


def test_durations_and_the_environment() -> None:
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("90m") == 5400
    assert parse_duration("3600") == 3600
    for bad in ("", "1y", "-1d", "10s", "99999999999d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert retention_from_env({}) == (7 * 86400, 30 * 86400)
    assert retention_from_env({"MESHQ_FLOWS_RETENTION": "60d"}) == (60 * 86400, 60 * 86400)
    assert FlowStore.from_env({}) is None


def test_long_windows_read_whole_hours_from_the_hourly_rollups() -> None:
    s = fresh_store()
    hour = int(NOW) // 3600 * 3600
    # flows in 7 different minutes over three hours, some in the current (partial) hour
    times = [hour - 3 * 3600 + 1500, hour - 2 * 3600 + 59, hour - 3600, hour - 1, hour + 5]
    times += [hour - 3 * 3600 + 1800, int(NOW)]
    for i, when in enumerate(times):
        rows = [{**r, "bytes": int(r["bytes"]) * (i + 1)} for r in _sample()]  # type: ignore[call-overload]
        s.insert(records(rows), when, f"h{i}")
    hourly = s.backend.query(f"SELECT count() AS n FROM {s.database}.flows_src_1h")
    assert int(hourly["n"][0].as_py()) > 0
    for minutes in (1, 30, 61, 95, 120, 150, 180, 240, 600):
        since = (int(NOW) // 60 + 1) * 60 - minutes * 60
        inside = [i for i, t in enumerate(times) if t >= since]
        expected = {
            # 100 bytes, and 50 sampled 1 in 10; each batch's bytes times its number
            "10.0.0.1": sum(600 * (i + 1) for i in inside),
            "10.0.0.2": sum(1000 * (i + 1) for i in inside),
        }
        got = {r["src"]: r["bytes"] for r in s.top_talkers("src", until=NOW, minutes=minutes)}
        assert got == {k: v for k, v in expected.items() if v}, minutes
        pairs = s.top_talkers("pair", until=NOW, minutes=minutes, limit=100)
        assert sum(r["bytes"] for r in pairs) == sum(expected.values())
        convs = s.conversations(until=NOW, minutes=minutes)
        assert sum(r["bytes"] for r in convs) == sum(expected.values())
        ifs = s.interfaces(until=NOW, minutes=minutes)
        assert sum(r["in_bytes"] for r in ifs) == sum(expected.values())
        apps = s.top_talkers("app", until=NOW, minutes=minutes, exporters=["192.0.2.1"], if_index=3)
        assert sum(r["bytes"] for r in apps) == sum(500 * (i + 1) for i in inside)


def test_options_names_and_rates_per_exporter_and_domain() -> None:
    from network_discovery.flows.decode import DomainOptions

    s = fresh_store()
    s.record_options(
        [
            DomainOptions("192.0.2.1", 10, 1, 100, {7: 1000}, {3: "Ethernet1/3", 4: "Eth1/4"}),
            DomainOptions("192.0.2.1", 9, 0, 0, {}, {3: "ge-0/0/3"}),
            DomainOptions("192.0.2.2", 10, 1, 0, {}, {1: "x'); DROP TABLE flows; --"}),
        ],
        updated=NOW - 10,
    )
    # a later report renames one interface
    s.record_options([DomainOptions("192.0.2.1", 10, 1, 0, {}, {3: "Et1/3"})], updated=NOW)
    names = s.interface_names(exporters=["192.0.2.1"])
    assert [(r["version"], r["domain"], r["if_index"], r["name"]) for r in names] == [
        (9, 0, 3, "ge-0/0/3"),
        (10, 1, 3, "Et1/3"),
        (10, 1, 4, "Eth1/4"),
    ]
    assert [r["name"] for r in s.interface_names(if_index=1)] == ["x'); DROP TABLE flows; --"]
    rates = s.sampling_rates()
    assert [(r["exporter"], r["domain"], r["sampler"], r["rate"]) for r in rates] == [
        ("192.0.2.1", 1, None, 100),
        ("192.0.2.1", 1, 7, 1000),
    ]
    assert s.sampling_rates(exporters=["192.0.2.2"]) == []
    s.record_options([])


def _many_flows(s: FlowStore, n: int, skewed: bool, span_s: int = 30 * 3600) -> None:
    """``n`` flows over the last ``span_s`` seconds (past a day's start, so the bound reads
    two days) made by the engine: 4,000 clients and 1,000 servers, drawn Zipf-like
    (``skewed``) or uniformly; half of them answers; two exporters, interfaces 1 and 2."""
    draw = (
        "toUInt32(floor(exp((intHash64(number * 4 + {k}) / 18446744073709551616.0) * log({n}))))"
        if skewed
        else "toUInt32(1 + intHash64(number * 4 + {k}) % {n})"
    )
    client, server = draw.format(k=1, n=4000), draw.format(k=2, n=1000)
    s.backend.execute(
        f"INSERT INTO {s.database}.flows (time, exporter, src_addr, dst_addr, proto, "
        "src_port, dst_port, bytes, packets, input_if, output_if) "
        f"SELECT toDateTime({int(NOW) - span_s} + number * {span_s} DIV {n}, 'UTC'), "
        "if(number % 3 = 0, '192.0.2.2', '192.0.2.1'), if(reply, s, c), if(reply, c, s), 6, "
        "40000, 443, 1 + intHash64(number * 4 + 3) % 10000, 1, 1 + number % 2, 2 "
        "FROM (SELECT number, "
        f"toIPv6(toIPv4(167772160 + {client})) AS c, "
        f"toIPv6(toIPv4(2886729728 + {server})) AS s, number % 2 = 1 AS reply "
        f"FROM numbers({n}))"
    )


class _Counting:
    """The store's backend, keeping the statements it runs."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.queries: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.backend, name)

    def query(self, sql: str, params: object = None) -> object:
        self.queries.append(sql)
        return self.backend.query(sql, params)


@pytest.mark.parametrize("skewed", [True, False], ids=["zipf", "uniform"])
def test_top_pairs_and_conversations_within_the_bound_are_the_plain_rankings(
    skewed: bool,
) -> None:
    from network_discovery.flows.store import (
        BOUND_MINUTES,
        _bound_pairs,
        _conversations_sql,
        _top_sql,
    )

    s = fresh_store()
    assert s.pair_projection  # chdb keeps the hourly pairs by address too
    _many_flows(s, 120_000, skewed)
    s.bound_rows = 0  # a bound however few the rows
    counting = _Counting(s.backend)
    s.backend = counting  # type: ignore[assignment]
    plain = counting.backend.query
    cases = [
        (1440, 10, None, 0),
        (1440, 1, None, 0),
        (600, 25, None, 0),
        (BOUND_MINUTES, 10, None, 0),
        (1440, 10, ["192.0.2.2"], 0),
        (1440, 10, ["192.0.2.1"], 2),  # one interface of one exporter
        (60, 10, None, 0),  # short: every pair
    ]
    for minutes, limit, exporters, if_index in cases:
        params = s._filters(minutes, NOW, exporters, if_index, limit)
        on_if = bool(if_index)
        every = plain(_top_sql(s.database, "pair", on_if), params).to_pylist()
        counting.queries = []
        pairs = s.top_talkers(
            "pair", until=NOW, minutes=minutes, limit=limit, exporters=exporters, if_index=if_index
        )
        assert len(pairs) == limit
        # the same pairs in the same order (ties by address), with the same counts
        assert [(p["src"], p["dst"], p["bytes"], p["packets"], p["flows"]) for p in pairs] == [
            (_addr_text(r["src"]), _addr_text(r["dst"]), r["bytes"], r["packets"], r["flows"])
            for r in every
        ]
        bounded = minutes >= BOUND_MINUTES
        # long windows: the rows counted, the last hour ranked, the window within the bound
        assert len(counting.queries) == (3 if bounded else 1)
        assert ("HAVING sum(bytes) >=" in counting.queries[-1]) == bounded
        every = plain(_conversations_sql(s.database, on_if), params).to_pylist()
        convs = s.conversations(
            until=NOW, minutes=minutes, limit=limit, exporters=exporters, if_index=if_index
        )
        assert [(c["a"], c["b"], c["bytes"], c["bytes_a_to_b"], c["flows"]) for c in convs] == [
            (
                _addr_text(r["a"]),
                _addr_text(r["b"]),
                r["total_bytes"],
                r["bytes_a_to_b"],
                r["flows"],
            )
            for r in every
        ]
    # skewed traffic: the bound leaves pairs out before they are grouped
    params = s._filters(1440, NOW, None, 0, 10)
    floor = s.top_talkers("pair", until=NOW, minutes=60, limit=10)[-1]["bytes"]
    kept, total = (
        int(
            plain(
                f"SELECT count() AS n FROM {s.database}.flows_1h WHERE {where}",
                {**params, "bound": str(floor)},
            )
            .column("n")[0]
            .as_py()
        )
        for where in (_bound_pairs(s.database), "1")
    )
    assert kept <= total
    if skewed:
        assert kept < total


def test_a_store_made_before_the_hourly_rollups_gets_them_filled() -> None:
    s = fresh_store()
    hour = int(NOW) // 3600 * 3600
    for i, when in enumerate((hour - 3 * 3600 + 600, hour - 2 * 3600 + 60, int(NOW))):
        s.insert(records(_sample()), when, f"old-{i}")
    before = s.top_talkers("src", until=NOW, minutes=240)
    # as the store was: minute rollups only
    for name in ("flows_1h", "flows_src_1h", "flows_dst_1h", "flows_app_1h", "flows_if_1h"):
        s.backend.execute(f"DROP TABLE {s.database}.{name}_mv")
        s.backend.execute(f"DROP TABLE {s.database}.{name}")
    again = FlowStore(s.backend, s.database)
    assert again.top_talkers("src", until=NOW, minutes=240) == before
    assert [r["bytes"] for r in before] == [3000, 1800]
    assert sum(r["in_bytes"] for r in again.interfaces(until=NOW, minutes=240)) == 4800
    # opened once more: nothing filled twice
    third = FlowStore(s.backend, s.database)
    assert third.top_talkers("src", until=NOW, minutes=240) == before


def test_a_store_made_before_the_daily_rollups_gets_them_filled() -> None:
    s = fresh_store()
    _many_flows(s, 5_000, True)
    # as the store was: no daily rollups, no pair projection
    for name in ("flows_src_1d", "flows_dst_1d"):
        s.backend.execute(f"DROP TABLE {s.database}.{name}_mv")
        s.backend.execute(f"DROP TABLE {s.database}.{name}")
    s.backend.execute(f"ALTER TABLE {s.database}.flows_1h DROP PROJECTION by_pair")
    again = FlowStore(s.backend, s.database)
    assert again.pair_projection
    for side in ("src", "dst"):
        per_day = {
            (r["d"], r["a"]): r["b"]
            for r in s.backend.query(
                f"SELECT toDate(day) AS d, {side}_addr AS a, sum(bytes) AS b "
                f"FROM {s.database}.flows_{side}_1d GROUP BY d, a"
            ).to_pylist()
        }
        from_minutes = {
            (r["d"], r["a"]): r["b"]
            for r in s.backend.query(
                f"SELECT toDate(minute) AS d, {side}_addr AS a, sum(bytes) AS b "
                f"FROM {s.database}.flows_{side}_1m GROUP BY d, a"
            ).to_pylist()
        }
        assert per_day == from_minutes and len({d for d, _ in per_day}) == 2
    # opened once more: nothing filled twice
    FlowStore(s.backend, s.database)
    assert (
        s.backend.query(f"SELECT sum(bytes) AS b FROM {s.database}.flows_src_1d").to_pylist()
        == s.backend.query(f"SELECT sum(bytes) AS b FROM {s.database}.flows_src_1m").to_pylist()
    )
