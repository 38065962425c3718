"""Rules compiled from their graph rows: one rule at a time, a rule set on first use, and
rule sets kept between changes so that only what changed is compiled again."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, overload

import structlog
from network_discovery.model import NatAction
from network_discovery.model import Service as ModelService

from meshq_graph_engine.firewall._intervals import address_ranges, merge
from meshq_graph_engine.firewall.policy import (
    ANY_PORT,
    Rule,
    RuleSet,
    Service,
    protocol_ranges,
    zones,
)

__all__ = [
    "COMPILE_STEP",
    "CompiledRuleSets",
    "LazyRules",
    "compile_nat",
    "compile_rest",
    "compile_rule",
    "compile_service",
    "no_collection",
]


log = structlog.get_logger(__name__)


@contextmanager
def no_collection() -> Iterator[None]:
    """Hold the cyclic collector off for a block that makes many long-lived objects and
    awaits nothing (compiling rules, indexing the view): collections set off by its
    allocations would walk everything not frozen again and again (half of compiling a rule
    set went there). What the block made is collected as usual afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@lru_cache(maxsize=8192)
def compile_service(text: str) -> Service:
    """A service as the graph stores it (``tcp dst 443``) in matching form (the same few
    service texts recur across thousands of rules: parsed once)."""
    model = ModelService.parse(text)

    def ports(ranges: Iterable[Any]) -> tuple[tuple[int, int], ...]:
        got = merge((r.lo, r.hi) for r in ranges)
        return got or ANY_PORT

    return Service(
        protocol_ranges(model.protocol),
        ports(model.src_ports),
        ports(model.dst_ports),
        model.icmp_type,
        model.icmp_code,
        model.established,
    )


@lru_cache(maxsize=4096)
def compile_nat(text: str) -> NatAction:
    """A rule's translation as the graph stores it (``dnat to 10.0.0.5 port 80``)."""
    return NatAction.parse(text)


def compile_rule(row: dict[str, Any]) -> Rule:
    services = tuple(compile_service(t) for t in row.get("services") or ()) or (Service(),)
    nat = row.get("nat")
    return Rule(
        device=row["device"],
        rule_set=row["ruleset"],
        position=int(row["position"]),
        name=row["name"],
        action=str(row["action"]),
        text=row.get("text") or "",
        enabled=row.get("enabled") is not False,
        src_zones=zones(row.get("src_zones")),
        dst_zones=zones(row.get("dst_zones")),
        src=address_ranges(row.get("sources") or None),
        dst=address_ranges(row.get("destinations") or None),
        services=services,
        nat=compile_nat(nat) if nat else None,
    )


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def row_digest(row: dict[str, Any]) -> bytes:
    """A rule row's digest: a compiled rule is a function of its row alone."""
    return _digest(repr(sorted(row.items())))


def _position(row: dict[str, Any]) -> int:
    return int(row["position"])


class LazyRules(Sequence[Rule]):
    """A rule set's rules, compiled from their rows the first time anything asks for them
    (``rows`` is called then, once). ``any_zone``: an access list's rules, which judge a flow
    from any zone. ``compiled`` is told of the rows and the rules made from them."""

    __slots__ = ("_any_zone", "_compiled", "_done", "_pending", "_rows", "_rules")

    def __init__(
        self,
        rows: Callable[[], list[dict[str, Any]]],
        *,
        any_zone: bool = False,
        compiled: Callable[[list[dict[str, Any]], list[Rule]], None] | None = None,
    ) -> None:
        self._rows: Callable[[], list[dict[str, Any]]] | None = rows
        self._any_zone = any_zone
        self._compiled = compiled
        self._rules: list[Rule] | None = None
        #: compiling a few at a time (:meth:`step`): the rows in order, the rules so far
        self._pending: list[dict[str, Any]] | None = None
        self._done: list[Rule] = []

    @property
    def ready(self) -> bool:
        return self._rules is not None

    def step(self, limit: int) -> bool:
        """Compile up to ``limit`` more rules; True once all are."""
        if self._rules is not None:
            return True
        if self._pending is None:
            assert self._rows is not None
            self._pending = sorted(self._rows(), key=_position)
            self._rows = None
        pending, done = self._pending, self._done
        with no_collection():
            done.extend(compile_rule(r) for r in pending[len(done) : len(done) + limit])
        if len(done) < len(pending):
            return False
        self._finish(pending, done)
        return True

    def _finish(self, rows: list[dict[str, Any]], rules: list[Rule]) -> None:
        if self._any_zone:
            rules = [dataclasses.replace(r, src_zones=None, dst_zones=None) for r in rules]
        self._rules, self._pending, self._done = rules, None, []
        if self._compiled is not None:
            self._compiled(rows, rules)
            self._compiled = None

    def _get(self) -> list[Rule]:
        while self._rules is None:
            self.step(1 << 30)
        return self._rules

    def __len__(self) -> int:
        return len(self._get())

    @overload
    def __getitem__(self, i: int) -> Rule: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Rule]: ...
    def __getitem__(self, i: int | slice) -> Rule | Sequence[Rule]:
        return self._get()[i]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyRules({self._rules!r})" if self._rules is not None else "LazyRules(…)"


@dataclasses.dataclass
class _Kept:
    #: digest of the whole set's rows (None: not worked out, the set was read whole)
    whole: bytes | None
    rule_set: RuleSet
    #: its rules by row digest, once they are compiled and a change asked for them
    by_digest: dict[bytes, Rule] | None = None
    #: a set read whole: its rows, read again for their digests when a change asks
    rows: Callable[[], list[dict[str, Any]]] | None = None

    def digests(self) -> dict[bytes, Rule] | None:
        """Its rules by row digest; None while its rules are not compiled."""
        if self.by_digest is None and self.rows is not None:
            rules = self.rule_set.rules
            if isinstance(rules, LazyRules) and not rules.ready:
                return None
            ordered = sorted(self.rows(), key=_position)
            self.by_digest = {row_digest(r): rule for r, rule in zip(ordered, rules, strict=True)}
            self.rows = None
        return self.by_digest


class CompiledRuleSets:
    """Compiled rule sets kept by device and name with a digest of each row they were
    compiled from: a rule set whose rows are the same again is not compiled again, and one
    whose rows changed compiles only the rules whose rows changed (a compiled rule is a
    function of its row alone).

    Rule sets read whole (:meth:`lazy`) are compiled on first use, and their rows' digests
    worked out when a change first touches them (their rows are read again then), so that
    the change reuses their compiled rules too."""

    def __init__(self) -> None:
        self._sets: dict[tuple[str, str], _Kept] = {}
        #: rule sets built again (not reused) so far, rules compiled for a change, and rules
        #: of sets read whole compiled on first use
        self.compiled = 0
        self.rules_compiled = 0
        self.rules_compiled_on_use = 0

    def lazy(
        self,
        device: str,
        name: str,
        default_action: str,
        rows: Callable[[], list[dict[str, Any]]],
    ) -> RuleSet:
        """A rule set compiled from ``rows()`` the first time it is used."""
        return self._lazy(device, name, default_action, rows, None)

    def _lazy(
        self,
        device: str,
        name: str,
        default_action: str,
        rows: Callable[[], list[dict[str, Any]]],
        whole: bytes | None,
    ) -> RuleSet:
        def compiled(_: list[dict[str, Any]], rules: list[Rule]) -> None:
            self.rules_compiled_on_use += len(rules)

        lazy = LazyRules(rows, compiled=compiled)
        rule_set = RuleSet(device, name, default_action, lazy)
        self._sets[(device, name)] = _Kept(whole, rule_set, rows=rows)
        self.compiled += 1
        return rule_set

    def get(
        self, device: str, name: str, default_action: str, rows: list[dict[str, Any]]
    ) -> RuleSet:
        """The rule set of these rows, now: the one kept where its rows are the same, else
        built with the kept rules whose rows are the same."""
        ordered = sorted(rows, key=lambda r: int(r["position"]))
        digests = [row_digest(r) for r in ordered]
        whole = _digest(repr(default_action) + b"".join(sorted(digests)).hex())
        kept = self._sets.get((device, name))
        known = kept.digests() if kept is not None else None
        if kept is not None and kept.whole is None and known is not None:
            kept.whole = _digest(repr(kept.rule_set.default_action) + b"".join(sorted(known)).hex())
        if kept is not None and kept.whole == whole:
            return kept.rule_set
        if kept is not None and known is None:
            # never used since it was read: nothing compiled to keep, nothing to compile now
            return self._lazy(device, name, default_action, lambda: ordered, whole)
        known = known or {}
        by_digest: dict[bytes, Rule] = {}
        rules = []
        with no_collection():
            for digest, row in zip(digests, ordered, strict=True):
                rule = known.get(digest)
                if rule is None:
                    rule = compile_rule(row)
                    self.rules_compiled += 1
                by_digest[digest] = rule
                rules.append(rule)
        rule_set = RuleSet(device, name, default_action, rules)
        self._sets[(device, name)] = _Kept(whole, rule_set, by_digest)
        self.compiled += 1
        return rule_set

    def keep_only(self, keys: set[tuple[str, str]], devices: set[str]) -> None:
        """Forget the rule sets of ``devices`` that are not among ``keys`` any more."""
        for key in [k for k in self._sets if k[0] in devices and k not in keys]:
            del self._sets[key]


#: Rules compiled in the background between two turns of the event loop (a few ms).
COMPILE_STEP = 250


async def compile_rest(rule_sets: list[Any]) -> None:
    """Compile each rule set (its rules, then its order and index) a few rules at a time,
    yielding to other work between, so that questions meanwhile wait a few ms at most."""
    started, done = time.perf_counter(), 0
    try:
        for rule_set in rule_sets:
            rules = rule_set.rules
            finished = not isinstance(rules, LazyRules)
            while not finished:
                finished = rules.step(COMPILE_STEP)
                await asyncio.sleep(0)
            if not rule_set.ready:
                rule_set.active  # noqa: B018 (orders and indexes it)
                done += 1
    except Exception as exc:  # the question that uses it compiles it again and says why
        log.warning("firewall.compile_failed", error=f"{type(exc).__name__}: {exc}")
        return
    log.info(
        "firewall.view.compiled",
        rule_sets=done,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
