"""Rule packs: YAML files of rules, the built-in ones and a customer's.

A pack names the platforms its rules apply to and holds rules. A rule reads one source:

- ``config``: the device's configuration text. ``block`` picks blocks by their first line
  (IOS-style) or statements by their leading words (Junos set form); ``where`` and
  ``unless`` keep or drop a block by a line in it; ``present`` must match a line (in every
  block when there are blocks), ``absent`` must match none.
- ``facts``: a condition over the device's parsed facts (see :data:`FACT_VARIABLES`).
- ``graph``: a condition over what the graph says about the device (see
  :data:`GRAPH_VARIABLES`).

A condition is the shared no-eval grammar (``ntp_servers >= 1 and telnet == 0``): it says
what passing is. Patterns are compiled with a time limit (``_regex``). Customer packs are
read from the directory ``MESHQ_COMPLIANCE_PACKS_DIR`` names; a customer rule whose id is a
built-in one replaces it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from meshq_runtime.conditions import Condition, ConditionSyntaxError, parse_condition
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from meshq_graph_engine.compliance._regex import Pattern, compile_pattern

__all__ = [
    "BUILTIN_DIR",
    "FACT_VARIABLES",
    "GRAPH_VARIABLES",
    "PACKS_DIR_ENV",
    "ConfigCheck",
    "Pack",
    "PackError",
    "Rule",
    "load_pack",
    "load_packs",
]

BUILTIN_DIR = Path(__file__).with_name("packs")
PACKS_DIR_ENV = "MESHQ_COMPLIANCE_PACKS_DIR"
#: The largest pack file read, and the most packs and rules.
MAX_PACK_BYTES = 512 * 1024
MAX_PACKS = 64
MAX_RULES = 500

#: Variables a ``facts`` rule may read (each None, so the rule unknown, when not known).
FACT_VARIABLES = {
    "ntp_servers": "NTP servers configured (count)",
    "logging_hosts": "remote logging hosts configured (count)",
    "aaa_servers": "TACACS+/RADIUS servers configured (count)",
    "snmp_v1": "1 when SNMPv1 is in use",
    "snmp_v2c": "1 when SNMP community strings (v1/v2c) are in use",
    "snmp_v3": "1 when SNMPv3 users or groups are configured",
    "ssh_version": "the SSH version the configuration pins (null when left to the default)",
    "ssh": "1 when SSH is on",
    "telnet": "1 when telnet is on",
    "http": "1 when the plain HTTP server is on",
    "https": "1 when an HTTPS server or API is on",
    "login_banner": "1 when a login banner is set",
    "os_major": "the first number of the OS version",
    "os_minor": "the second number of the OS version",
}
#: Variables a ``graph`` rule may read.
GRAPH_VARIABLES = {
    "links": "links of the device to other devices",
    "neighbors": "distinct neighbouring devices",
    "upstream_neighbors": "distinct neighbours of a higher tier (access < distribution < core)",
    "upstream_links": "links to neighbours of a higher tier",
    "mtu_mismatches": "links whose two ends have different MTUs (both known)",
    "speed_mismatches": "links whose two ends have different speeds (both known)",
    "uplinks_without_description": "interfaces linked to another device without a description",
    "unused_ports_up": "physical ports administratively up, operationally down, with no link",
    "uplinks_missing_user_vlans": "uplinks that do not carry every VLAN of the device's "
    "access ports",
}

Source = Literal["config", "facts", "graph"]
Severity = Literal["info", "low", "medium", "high", "critical"]


class PackError(ValueError):
    """A pack that cannot be read; the message names the file and the field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _pattern(value: str | None) -> str | None:
    if value is not None:
        compile_pattern(value)  # a ValueError saying why it cannot be compiled
    return value


class ConfigCheck(_Strict):
    #: Patterns are taken as written (a space at either end is part of one).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    block: str | None = Field(None, description="Blocks whose first line matches.")
    where: str | None = Field(None, description="Only blocks with a line matching this.")
    unless: str | None = Field(None, description="Not blocks with a line matching this.")
    present: str | None = Field(None, description="A line matching must be there.")
    absent: str | None = Field(None, description="No line may match.")
    #: The answer where ``block`` picks no block (a setting left at its default).
    if_no_block: Literal["not_applicable", "pass", "fail"] = "not_applicable"

    _check = field_validator("block", "where", "unless", "present", "absent")(_pattern)

    @model_validator(mode="after")
    def _something_to_check(self) -> ConfigCheck:
        if self.present is None and self.absent is None:
            raise ValueError("a config check needs 'present', 'absent' or both")
        if (self.where or self.unless) and not self.block:
            raise ValueError("'where' and 'unless' pick blocks: give 'block' too")
        return self

    def pattern(self, name: str) -> Pattern | None:
        text = getattr(self, name)
        return None if text is None else compile_pattern(text)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$")
    title: str = Field(min_length=1, max_length=200)
    severity: Severity = "medium"
    source: Source
    description: str = Field("", max_length=2000)
    #: Platforms it applies to; empty: the pack's.
    platforms: tuple[str, ...] = ()
    #: Device roles it applies to; empty: every role (and devices without one).
    roles: tuple[str, ...] = ()
    config: ConfigCheck | None = None
    condition: str | None = Field(None, max_length=2000)
    remediation: str = Field("", max_length=4000)

    @model_validator(mode="after")
    def _source_fields(self) -> Rule:
        if self.source == "config":
            if self.config is None or self.condition is not None:
                raise ValueError("a config rule has 'config' and no 'condition'")
        else:
            if self.condition is None or self.config is not None:
                raise ValueError(f"a {self.source} rule has 'condition' and no 'config'")
            names = FACT_VARIABLES if self.source == "facts" else GRAPH_VARIABLES
            try:
                parse_condition(self.condition, names, decimals=True)
            except ConditionSyntaxError as exc:
                raise ValueError(f"condition: {exc.message} at position {exc.position}") from None
        return self

    def parsed_condition(self) -> Condition:
        assert self.condition is not None
        names = FACT_VARIABLES if self.source == "facts" else GRAPH_VARIABLES
        return parse_condition(self.condition, names, decimals=True)


class Pack(_Strict):
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    #: Platforms its rules apply to; empty: every platform.
    platforms: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = Field(min_length=1, max_length=MAX_RULES)
    #: "builtin", or the file a customer pack came from (set on loading).
    origin: str = "builtin"

    @model_validator(mode="after")
    def _unique_ids(self) -> Pack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule {rule.id!r} is defined twice")
            seen.add(rule.id)
        return self

    def platforms_of(self, rule: Rule) -> tuple[str, ...]:
        return rule.platforms or self.platforms


def load_pack(path: Path, origin: str = "builtin") -> Pack:
    """One pack file; a :class:`PackError` naming the file and what is wrong in it. A file
    read before and not changed since (same size and modification time) is not read again."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise PackError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return _load_pack(path, origin, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _load_pack(path: Path, origin: str, size: int, mtime_ns: int) -> Pack:
    try:
        if size > MAX_PACK_BYTES:
            raise PackError(f"{path}: {size} bytes; a pack is at most {MAX_PACK_BYTES}")
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PackError(f"{path}: cannot be read as YAML: {str(exc)[:300]}") from None
    if not isinstance(document, dict):
        raise PackError(f"{path}: a pack is a mapping with 'pack', 'title' and 'rules'")
    try:
        return Pack.model_validate({**document, "origin": origin})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PackError(f"{path}: {where}: {first['msg']}") from None


def _files(directory: Path) -> list[Path]:
    found = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if len(found) > MAX_PACKS:
        raise PackError(f"{directory}: more than {MAX_PACKS} pack files")
    return found


def load_packs(custom_dir: str | Path | None = None) -> list[Pack]:
    """The built-in packs, then the customer's (``custom_dir``, else the directory
    ``MESHQ_COMPLIANCE_PACKS_DIR`` names). A customer pack with a built-in pack's name
    replaces it; a customer rule with a built-in rule's id replaces that rule."""
    packs = {p.pack: p for p in (load_pack(f) for f in _files(BUILTIN_DIR))}
    where = custom_dir if custom_dir is not None else os.environ.get(PACKS_DIR_ENV, "")
    if where:
        directory = Path(where)
        if not directory.is_dir():
            raise PackError(f"{PACKS_DIR_ENV}={where}: not a directory")
        for path in _files(directory):
            pack = load_pack(path, origin=str(path))
            ids = {r.id for r in pack.rules}
            for name, other in list(packs.items()):
                kept = tuple(r for r in other.rules if r.id not in ids)
                if name != pack.pack and len(kept) != len(other.rules):
                    packs[name] = other.model_copy(update={"rules": kept})
            packs[pack.pack] = pack
    return [p for p in packs.values() if p.rules]
