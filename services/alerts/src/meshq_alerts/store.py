"""Alerts in PostgreSQL: their lifecycle, their history, and what the rules remember.

- ``alerts``: one row per alert, ``alert-<id>`` to the outside. State ``firing`` →
  ``acknowledged`` (who and when kept) → ``resolved``; at most one open (firing or
  acknowledged) alert per fingerprint (the rule and the row's key), so an alert that holds is
  updated, never raised twice. A row that comes back after its alert resolved raises a new one.
- ``alert_history``: every change of state, in order (``seq``): what the stream reads from.
- ``alert_pending``: rows that match a rule with ``for:`` but have not matched long enough.
- ``alert_baseline``: for ``when: absent`` rules, the keys the query has answered.
- ``alert_blast``: what each device's failure would take down (``device_blast``), kept
  between rounds so that a round asks graph-engine only about devices near a change.

One evaluation of one rule runs in one transaction (:meth:`AlertStore.evaluate`), so a crash
leaves the state of before or of after, and evaluating the same answer twice changes nothing
the second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from meshq_runtime.outbox import enqueue
from network_discovery.contracts.events import AlertChanged, AlertChangedData

from meshq_alerts.rules import AlertRule, render

__all__ = [
    "MIGRATIONS",
    "AckResult",
    "AlertStore",
    "Transition",
    "alert_id",
    "device_names",
    "fingerprint",
    "init_connection",
    "parse_alert_id",
]

SERVICE = "alerts"
#: Columns whose values name a device (the list's ``device`` filter matches any of them).
DEVICE_COLUMNS = (
    "device",
    "hostname",
    "a_device",
    "b_device",
    "local_device",
    "remote_device",
    "source_device",
    "target_device",
    "stopped_at_device",
)
#: The most open alerts one rule may hold; rows past it are counted, not raised.
MAX_OPEN_PER_RULE = 10_000
#: The largest row kept with an alert (its JSON); larger rows keep their key columns only.
MAX_ROW_BYTES = 8_192

MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id bigserial PRIMARY KEY, rule text NOT NULL, query text NOT NULL, fingerprint text NOT NULL,"
    " key jsonb NOT NULL, state text NOT NULL"
    " CHECK (state IN ('firing', 'acknowledged', 'resolved')),"
    " severity text NOT NULL, labels jsonb NOT NULL, summary text NOT NULL DEFAULT '',"
    " description text NOT NULL DEFAULT '', row jsonb NOT NULL, devices text[] NOT NULL,"
    " starts_at timestamptz NOT NULL, last_matched_at timestamptz NOT NULL,"
    " cleared_at timestamptz, resolved_at timestamptz,"
    " acknowledged_at timestamptz, acknowledged_by text,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_fingerprint ON alerts (fingerprint)"
    " WHERE state <> 'resolved'",
    "CREATE INDEX IF NOT EXISTS alerts_rule_open ON alerts (rule) WHERE state <> 'resolved'",
    "CREATE INDEX IF NOT EXISTS alerts_state_starts ON alerts (state, starts_at DESC)",
    "CREATE INDEX IF NOT EXISTS alerts_devices ON alerts USING gin (devices)",
    "CREATE TABLE IF NOT EXISTS alert_history ("
    " seq bigserial PRIMARY KEY, alert_id bigint NOT NULL REFERENCES alerts (id),"
    " at timestamptz NOT NULL, state text NOT NULL, actor text, detail jsonb)",
    "CREATE INDEX IF NOT EXISTS alert_history_alert ON alert_history (alert_id, seq)",
    "CREATE TABLE IF NOT EXISTS alert_pending ("
    " rule text NOT NULL, fingerprint text NOT NULL, first_matched_at timestamptz NOT NULL,"
    " PRIMARY KEY (rule, fingerprint))",
    "CREATE TABLE IF NOT EXISTS alert_baseline ("
    " rule text NOT NULL, fingerprint text NOT NULL, key jsonb NOT NULL,"
    " seen_at timestamptz NOT NULL, PRIMARY KEY (rule, fingerprint))",
    # what each device's failure takes down, at a depth (device_blast, device_redundancy)
    "CREATE TABLE IF NOT EXISTS alert_blast ("
    " depth int NOT NULL, device text NOT NULL, figures jsonb NOT NULL,"
    " affected text[] NOT NULL, computed_at timestamptz NOT NULL, PRIMARY KEY (depth, device))",
]

_ALERT_COLUMNS = (
    "id, rule, query, fingerprint, key, state, severity, labels, summary, description, row,"
    " devices, starts_at, last_matched_at, cleared_at, resolved_at, acknowledged_at,"
    " acknowledged_by, updated_at"
)

#: The statements below put only this module's column list and fixed clauses into SQL text;
#: every value is a bound parameter.
_BY_ID = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = $1"  # noqa: S608


def alert_id(number: int) -> str:
    return f"alert-{number}"


def parse_alert_id(text: str) -> int | None:
    """The number of ``alert-42`` (or ``42``); None for anything else."""
    value = text.strip()
    if value.startswith("alert-"):
        value = value[6:]
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def fingerprint(rule: str, key: Sequence[str]) -> str:
    raw = json.dumps([rule, list(key)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _bounded_row(row: Mapping[str, Any], key_columns: Iterable[str]) -> dict[str, Any]:
    text = json.dumps(row, default=str, ensure_ascii=False)
    if len(text) <= MAX_ROW_BYTES:
        return dict(json.loads(text))
    return {c: row.get(c) for c in key_columns} | {"truncated": True}


def device_names(row: Mapping[str, Any]) -> list[str]:
    """The device names a row holds, in :data:`DEVICE_COLUMNS` order."""
    return _devices(row)


def _devices(row: Mapping[str, Any]) -> list[str]:
    found = []
    for column in DEVICE_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and value and value not in found:
            found.append(value[:255])
    return found


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """An alert as the API shows it."""
    labels = dict(record["labels"])
    return {
        "alert_id": alert_id(record["id"]),
        "rule": record["rule"],
        "query": record["query"],
        "state": record["state"],
        "severity": record["severity"],
        "summary": record["summary"],
        "description": record["description"] or None,
        "labels": labels,
        "key": dict(record["key"]),
        "devices": list(record["devices"]),
        "row": dict(record["row"]),
        "fingerprint": record["fingerprint"],
        "starts_at": _iso(record["starts_at"]),
        "last_matched_at": _iso(record["last_matched_at"]),
        "resolved_at": _iso(record["resolved_at"]),
        "acknowledged_at": _iso(record["acknowledged_at"]),
        "acknowledged_by": record["acknowledged_by"],
        "updated_at": _iso(record["updated_at"]),
    }


@dataclass(frozen=True)
class Transition:
    """One alert changed state in an evaluation."""

    alert: dict[str, Any]
    state: str  # firing | resolved


@dataclass
class Evaluation:
    rule: str
    fired: list[Transition] = field(default_factory=list)
    resolved: list[Transition] = field(default_factory=list)
    held: int = 0  # open alerts still matching
    pending: int = 0  # rows waiting out ``for:``
    over_limit: int = 0  # rows not raised: the rule holds MAX_OPEN_PER_RULE open alerts
    skipped: bool = False  # not evaluated (an absent rule on a cut answer)


@dataclass(frozen=True)
class AckResult:
    status: str  # acknowledged | not_found | resolved
    alert: dict[str, Any] | None = None


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb columns as Python values (``create_pool(init=...)`` for the store's pool)."""
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def change_event(
    alert: Mapping[str, Any], change: str, at: datetime, actor: str | None
) -> AlertChanged:
    """The ``alert.changed`` event of one change, keyed by the alert's fingerprint."""
    return AlertChanged(
        source=SERVICE,
        subject=alert["fingerprint"],
        data=AlertChangedData(
            alert_id=alert["alert_id"],
            rule=alert["rule"],
            query=alert["query"],
            change=change,
            severity=alert["severity"],
            summary=alert["summary"][:1000],
            labels=alert["labels"],
            key=alert["key"],
            devices=alert["devices"][:16],
            row=alert["row"],
            fingerprint=alert["fingerprint"],
            starts_at=alert["starts_at"],
            at=_iso(at) or "",
            actor=actor,
        ),
    )


class AlertStore:
    """``service``: the outbox rows' owner; each change's event is enqueued with it (None:
    no events, for tools and tests that read the store alone)."""

    def __init__(self, pool: asyncpg.Pool, *, service: str | None = None) -> None:
        self._pool = pool
        self._service = service

    # --- evaluation ------------------------------------------------------------------------

    async def evaluate(
        self,
        rule: AlertRule,
        rows: Sequence[Mapping[str, Any]],
        now: datetime,
        *,
        complete: bool = True,
        extra_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Evaluation:
        """Move the rule's alerts to what ``rows`` (the query's answer) says. An answer that is
        not ``complete`` (cut at the row bound) raises and holds alerts but resolves none, and
        an absent rule is not evaluated on it at all: what it lacks may only have been cut.
        ``extra_labels``: labels by device name, added to an alert that fires for a row naming
        that device (its blast size, for routing)."""
        if not complete and rule.when == "absent":
            return Evaluation(rule=rule.name, skipped=True)
        result = Evaluation(rule=rule.name)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                # one evaluator per rule at a time, whichever replica runs it
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('meshq_alerts'), hashtext($1))",
                    rule.name,
                )
                matched, holding = await self._matched(conn, rule, rows, now)
                await self._apply(
                    conn,
                    rule,
                    matched,
                    now,
                    result,
                    resolve=complete,
                    holding=holding,
                    extra_labels=extra_labels or {},
                )
        return result

    async def _matched(
        self,
        conn: asyncpg.Connection,
        rule: AlertRule,
        rows: Sequence[Mapping[str, Any]],
        now: datetime,
    ) -> tuple[
        dict[str, tuple[tuple[str, ...], Mapping[str, Any]]],
        dict[str, Mapping[str, Any]],
    ]:
        """The rows that match (by fingerprint), and those that no longer match but do not
        meet the rule's ``resolve_condition`` either (they hold an open alert)."""
        answered: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {}
        holding: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            key = rule.key_of(row)
            if key is None:
                continue
            if rule.when == "present" and not rule.matches(row):
                if rule.holds(row):
                    holding.setdefault(fingerprint(rule.name, key), row)
                continue
            answered.setdefault(fingerprint(rule.name, key), (key, row))
        if rule.when == "present":
            return answered, holding
        # absent: the keys known before that the answer no longer holds
        known = await conn.fetch(
            "SELECT fingerprint, key FROM alert_baseline WHERE rule = $1", rule.name
        )
        missing: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
            r["fingerprint"]: (tuple(r["key"]), dict(zip(rule.key, r["key"], strict=False)))
            for r in known
            if r["fingerprint"] not in answered
        }
        if answered:
            await conn.executemany(
                "INSERT INTO alert_baseline (rule, fingerprint, key, seen_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (rule, fingerprint)"
                " DO UPDATE SET seen_at = EXCLUDED.seen_at",
                [(rule.name, fp, list(key), now) for fp, (key, _) in answered.items()],
            )
        return missing, holding

    async def _apply(
        self,
        conn: asyncpg.Connection,
        rule: AlertRule,
        matched: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]],
        now: datetime,
        result: Evaluation,
        *,
        resolve: bool,
        holding: Mapping[str, Mapping[str, Any]],
        extra_labels: Mapping[str, Mapping[str, str]],
    ) -> None:
        open_rows = await conn.fetch(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE rule = $1 AND state <> 'resolved'",  # noqa: S608
            rule.name,
        )
        open_by_fp = {r["fingerprint"]: r for r in open_rows}
        pending = {
            r["fingerprint"]: r["first_matched_at"]
            for r in await conn.fetch(
                "SELECT fingerprint, first_matched_at FROM alert_pending WHERE rule = $1",
                rule.name,
            )
        }
        # alerts that still hold
        still = [fp for fp in matched if fp in open_by_fp]
        if still:
            await conn.executemany(
                "UPDATE alerts SET last_matched_at = $2, cleared_at = NULL, row = $3,"
                " updated_at = now() WHERE fingerprint = $1 AND state <> 'resolved'",
                [(fp, now, _bounded_row(matched[fp][1], rule.key)) for fp in still],
            )
            result.held = len(still)
        # hysteresis: off the condition but not yet on the resolve condition
        kept = [fp for fp in holding if fp in open_by_fp and fp not in matched]
        if kept:
            await conn.executemany(
                "UPDATE alerts SET cleared_at = NULL, row = $2, updated_at = now()"
                " WHERE fingerprint = $1 AND state <> 'resolved'",
                [(fp, _bounded_row(holding[fp], rule.key)) for fp in kept],
            )
            result.held += len(kept)
        # rows that are new: raised now, or once they have matched for ``for:``
        open_count = len(open_by_fp)
        fire: list[str] = []
        wait: list[str] = []
        for fp in matched:
            if fp in open_by_fp:
                continue
            since = pending.get(fp)
            if rule.for_s > 0 and (since is None or (now - since).total_seconds() < rule.for_s):
                if since is None:
                    wait.append(fp)
                result.pending += 1
                continue
            if open_count >= MAX_OPEN_PER_RULE:
                result.over_limit += 1
                continue
            open_count += 1
            fire.append(fp)
        if wait:
            await conn.executemany(
                "INSERT INTO alert_pending (rule, fingerprint, first_matched_at)"
                " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [(rule.name, fp, now) for fp in wait],
            )
        gone_pending = [fp for fp in pending if fp not in matched or fp in fire]
        if gone_pending:
            await conn.execute(
                "DELETE FROM alert_pending WHERE rule = $1 AND fingerprint = ANY($2::text[])",
                rule.name,
                gone_pending,
            )
        for fp in fire:
            key, row = matched[fp]
            devices = _devices(row) or _devices(dict(zip(rule.key, key, strict=True)))
            weight = next((extra_labels[d] for d in devices if d in extra_labels), {})
            labels = {
                **weight,
                **rule.labels,
                **{c: v[:500] for c, v in zip(rule.key, key, strict=True)},
                "alertname": rule.name,
                "severity": rule.severity,
            }
            record = await conn.fetchrow(
                "INSERT INTO alerts (rule, fingerprint, key, state, severity, labels, summary,"  # noqa: S608
                " description, row, devices, starts_at, last_matched_at, query)"
                " VALUES ($1, $2, $3, 'firing', $4, $5, $6, $7, $8, $9, $10, $10, $11)"
                f" RETURNING {_ALERT_COLUMNS}",
                rule.name,
                fp,
                dict(zip(rule.key, key, strict=True)),
                rule.severity,
                labels,
                render(rule.summary, row) if rule.summary else f"{rule.name}: {', '.join(key)}",
                render(rule.description, row) if rule.description else "",
                _bounded_row(row, rule.key),
                devices,
                now,
                rule.query,
            )
            await self._history(conn, record, now, "firing", None, None)
            result.fired.append(Transition(public(record), "firing"))
        # open alerts whose row is gone: resolved now, or after ``resolve_after``
        for fp, record in open_by_fp.items():
            if fp in matched or fp in holding or not resolve:
                continue
            cleared = record["cleared_at"] or now
            if (now - cleared).total_seconds() < rule.resolve_after_s:
                if record["cleared_at"] is None:
                    await conn.execute(
                        "UPDATE alerts SET cleared_at = $2, updated_at = now() WHERE id = $1",
                        record["id"],
                        now,
                    )
                continue
            done = await conn.fetchrow(
                "UPDATE alerts SET state = 'resolved', resolved_at = $2, updated_at = now()"  # noqa: S608
                f" WHERE id = $1 AND state <> 'resolved' RETURNING {_ALERT_COLUMNS}",
                record["id"],
                now,
            )
            if done is not None:
                await self._history(conn, done, now, "resolved", None, None)
                result.resolved.append(Transition(public(done), "resolved"))

    async def _history(
        self,
        conn: asyncpg.Connection,
        record: Mapping[str, Any],
        at: datetime,
        state: str,
        actor: str | None,
        detail: dict[str, Any] | None,
    ) -> None:
        """Record a change of state, and its event in the outbox: both commit with the change
        itself, so the event goes out once (and only once) the change is durable."""
        await conn.execute(
            "INSERT INTO alert_history (alert_id, at, state, actor, detail)"
            " VALUES ($1, $2, $3, $4, $5)",
            record["id"],
            at,
            state,
            actor,
            detail,
        )
        if self._service is not None:
            await enqueue(conn, self._service, change_event(public(record), state, at, actor))

    async def forget_rules(self, keep: Iterable[str], now: datetime) -> int:
        """Resolve the open alerts of rules no longer configured and drop their memory."""
        names = sorted(set(keep))
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch(
                    "UPDATE alerts SET state = 'resolved', resolved_at = $2, updated_at = now()"  # noqa: S608
                    " WHERE state <> 'resolved' AND NOT (rule = ANY($1::text[]))"
                    f" RETURNING {_ALERT_COLUMNS}",
                    names,
                    now,
                )
                for r in rows:
                    why = {"reason": "rule removed"}
                    await self._history(conn, r, now, "resolved", None, why)
                await conn.execute(
                    "DELETE FROM alert_pending WHERE NOT (rule = ANY($1::text[]))", names
                )
                await conn.execute(
                    "DELETE FROM alert_baseline WHERE NOT (rule = ANY($1::text[]))", names
                )
        return len(rows)

    # --- reads and the acknowledgement ------------------------------------------------------

    async def acknowledge(self, number: int, actor: str, now: datetime) -> AckResult:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                record = await conn.fetchrow(
                    "UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2,"  # noqa: S608
                    " acknowledged_by = $3, updated_at = now()"
                    f" WHERE id = $1 AND state = 'firing' RETURNING {_ALERT_COLUMNS}",
                    number,
                    now,
                    actor[:255],
                )
                if record is not None:
                    await self._history(conn, record, now, "acknowledged", actor[:255], None)
                    return AckResult("acknowledged", public(record))
                record = await conn.fetchrow(_BY_ID, number)
        if record is None:
            return AckResult("not_found")
        if record["state"] == "acknowledged":
            return AckResult("acknowledged", public(record))
        return AckResult("resolved", public(record))

    async def get(self, number: int) -> dict[str, Any] | None:
        async with self._pool.acquire() as conn:
            record = await conn.fetchrow(_BY_ID, number)
        return public(record) if record is not None else None

    async def find(
        self,
        *,
        states: Sequence[str] = ("firing", "acknowledged"),
        severity: str | None = None,
        device: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Alerts newest first, and how many match in all."""
        where = ["state = ANY($1::text[])"]
        args: list[Any] = [list(states)]
        if severity is not None:
            args.append(severity)
            where.append(f"severity = ${len(args)}")
        if device is not None:
            args.append(device)
            where.append(f"${len(args)} = ANY(devices)")
        if rule is not None:
            args.append(rule)
            where.append(f"rule = ${len(args)}")
        if since is not None:
            args.append(since)
            where.append(f"updated_at >= ${len(args)}")
        clause = " AND ".join(where)
        async with self._pool.acquire() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM alerts WHERE {clause}", *args)  # noqa: S608
            records = await conn.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {clause}"  # noqa: S608
                f" ORDER BY starts_at DESC, id DESC LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                *args,
                limit,
                offset,
            )
        return [public(r) for r in records], int(total or 0)

    async def changes(self, after: int, limit: int = 100) -> list[dict[str, Any]]:
        """State changes after history position ``after``, oldest first, each with the alert
        as it is now."""
        async with self._pool.acquire() as conn:
            records = await conn.fetch(
                "SELECT h.seq, h.at, h.state AS change, h.actor,"  # noqa: S608
                + ", ".join(f"a.{c.strip()}" for c in _ALERT_COLUMNS.split(","))
                + " FROM alert_history h JOIN alerts a ON a.id = h.alert_id"
                " WHERE h.seq > $1 ORDER BY h.seq LIMIT $2",
                after,
                limit,
            )
        return [
            {
                "cursor": str(r["seq"]),
                "change": r["change"],
                "at": _iso(r["at"]),
                "actor": r["actor"],
                "alert": public(r),
            }
            for r in records
        ]

    async def latest_cursor(self) -> int:
        async with self._pool.acquire() as conn:
            value = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM alert_history")
        return int(value)

    async def recently_resolved(self, since: datetime) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            records = await conn.fetch(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE state = 'resolved'"  # noqa: S608
                " AND resolved_at >= $1 ORDER BY resolved_at LIMIT 10000",
                since,
            )
        return [public(r) for r in records]

    # --- what each device's failure takes down (device_blast) -------------------------------

    async def blast_affected(self, depth: int) -> dict[str, list[str]]:
        """Every device held at ``depth``, with the devices its failure takes down."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT device, affected FROM alert_blast WHERE depth = $1", depth
            )
        return {r["device"]: list(r["affected"]) for r in rows}

    async def blast_save(
        self,
        depth: int,
        figures: Sequence[tuple[str, Mapping[str, Any], Sequence[str]]],
        now: datetime,
        *,
        keep: Sequence[str] | None = None,
    ) -> None:
        """Store ``(device, figures, affected)`` at ``depth``; with ``keep``, forget every
        device not in it (gone from the graph)."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                if keep is not None:
                    await conn.execute(
                        "DELETE FROM alert_blast WHERE depth = $1"
                        " AND NOT (device = ANY($2::text[]))",
                        depth,
                        list(keep),
                    )
                if figures:
                    await conn.executemany(
                        "INSERT INTO alert_blast (depth, device, figures, affected, computed_at)"
                        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (depth, device) DO UPDATE SET"
                        " figures = EXCLUDED.figures, affected = EXCLUDED.affected,"
                        " computed_at = EXCLUDED.computed_at",
                        [(depth, d, dict(f), list(a), now) for d, f, a in figures],
                    )

    async def blast_rows(
        self, depth: int, devices: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The stored figures at ``depth`` (of ``devices`` only, when given), by device."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT figures FROM alert_blast WHERE depth = $1"
                " AND ($2::text[] IS NULL OR device = ANY($2::text[])) ORDER BY device",
                depth,
                None if devices is None else list(devices),
            )
        return [dict(r["figures"]) for r in rows]
