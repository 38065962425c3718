"""Pull: NetBox's site, tenant, rack, role and platform onto graph devices (metadata patches,
which later discovery keeps), and NetBox's cables as declared links (evidence
``netbox_declared``). NetBox's platform goes to ``netbox_platform`` (name) and
``netbox_platform_slug``, never to the device's own ``platform``, which picks its parsers; the
matched NetBox device's id goes to ``netbox_id``. Those three are NetBox's alone: a pull clears
them when NetBox no longer has them (a device deleted from NetBox loses all three).

Only what differs from the graph is planned, so a second pull plans nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from network_discovery.integrations.netbox._match import Matches, match_devices
from network_discovery.integrations.netbox._plan import Conflict, Item, Plan
from network_discovery.model import (
    NETBOX_ONLY_FIELDS,
    FactKind,
    InterfaceRef,
    Link,
    LinkEvidence,
    MetadataPatch,
    PatchSource,
    ScopeEntry,
    Snapshot,
    canonical_interface_name,
    normalise_hostname,
)

__all__ = ["PULLED_FIELDS", "plan_pull"]

PULLED_FIELDS = ("site", "tenant", "rack", "role", *NETBOX_ONLY_FIELDS)
LinkKey = tuple[str, str, str, str]


def _role(name: str) -> str:
    return "_".join(name.lower().split())


def _netbox_fields(nb: dict[str, Any]) -> dict[str, str | int | None]:
    def name(key: str) -> str | None:
        value = nb.get(key) or {}
        return value.get("name") or None

    role = name("role")
    return {
        "site": name("site"),
        "tenant": name("tenant"),
        "rack": name("rack"),
        "role": _role(role) if role else None,
        "netbox_id": int(nb["id"]),
        "netbox_platform": name("platform"),
        "netbox_platform_slug": (nb.get("platform") or {}).get("slug") or None,
    }


def _key(a: tuple[str, str], b: tuple[str, str]) -> LinkKey:
    (ad, ai), (bd, bi) = sorted([a, b])
    return ad, ai, bd, bi


def _end(
    terminations: list[dict[str, Any]], ids: dict[int, str], platforms: dict[str, str | None]
) -> tuple[str, str] | None:
    if len(terminations) != 1 or terminations[0].get("object_type") != "dcim.interface":
        return None
    obj = terminations[0].get("object") or {}
    device = obj.get("device") or {}
    if not obj.get("name") or device.get("id") is None:
        return None
    graph_id = ids.get(int(device["id"])) or normalise_hostname(device.get("name") or "")
    return graph_id, canonical_interface_name(obj["name"], platforms.get(graph_id))


def _declared(
    cables: Iterable[dict[str, Any]], matches: Matches, graph: list[dict[str, Any]]
) -> tuple[dict[LinkKey, Link], int]:
    ids = {int(nb["id"]): device for device, nb in matches.found.items()}
    platforms = {row["device"]: row.get("platform") for row in graph}
    links: dict[LinkKey, Link] = {}
    skipped = 0
    for cable in cables:
        a = _end(cable.get("a_terminations") or [], ids, platforms)
        b = _end(cable.get("b_terminations") or [], ids, platforms)
        if a is None or b is None or a == b:
            skipped += 1
            continue
        link = Link(
            a=InterfaceRef(device=a[0], interface=a[1]),
            b=InterfaceRef(device=b[0], interface=b[1]),
            evidence=LinkEvidence.NETBOX_DECLARED,
        )
        links[_key((link.a.device, link.a.interface), (link.b.device, link.b.interface))] = link
    return links, skipped


def plan_pull(
    *,
    netbox_url: str,
    graph: list[dict[str, Any]],
    declared_now: list[dict[str, Any]],
    devices: list[dict[str, Any]],
    cables: list[dict[str, Any]],
    now: datetime | None = None,
) -> Plan:
    plan = Plan("pull")
    matches = match_devices(graph, devices)
    for device, reason in sorted(matches.ambiguous.items()):
        plan.conflicts.append(Conflict("device", device, reason))
    stamps = plan.step("device metadata", "stamp", "graph")
    patches: list[MetadataPatch] = []
    current = {row["device"]: row for row in graph}
    wanted: dict[str, dict[str, Any]] = {d: _netbox_fields(nb) for d, nb in matches.found.items()}
    gone = sorted(
        d
        for d, row in current.items()
        if row.get("netbox_id") is not None and d not in wanted and d not in matches.ambiguous
    )
    for device in gone:  # NetBox no longer has it: what only NetBox says goes
        wanted[device] = dict.fromkeys(NETBOX_ONLY_FIELDS)
    for device in sorted(wanted):
        changes = {
            f: (current[device].get(f), v)
            for f, v in wanted[device].items()
            if (v is not None or f in NETBOX_ONLY_FIELDS) and current[device].get(f) != v
        }
        if not changes:
            continue
        stamps.items.append(Item(f"device:{device}", device, changes=changes))
        patches.append(
            MetadataPatch.model_validate(
                {
                    "hostname": device,
                    "source": PatchSource.NETBOX,
                    "actor": netbox_url,
                    **{f: new for f, (_, new) in changes.items() if new is not None},
                    "clear": [f for f, (_, new) in changes.items() if new is None],
                }
            )
        )
    unmatched = len(devices) - len(matches.found)
    if unmatched:
        plan.notes.append(f"{unmatched} NetBox device(s) are not in the graph (not stamped)")
    if gone:
        plan.notes.append(f"{len(gone)} graph device(s) are no longer in NetBox")

    wanted_links, skipped = _declared(cables, matches, graph)
    if skipped:
        plan.notes.append(f"{skipped} cable(s) are not interface-to-interface (not declared)")
    have = {
        _key((r["a_device"], r["a_interface"]), (r["b_device"], r["b_interface"]))
        for r in declared_now
    }
    added = sorted(set(wanted_links) - have)
    removed = sorted(have - set(wanted_links))
    declare = plan.step("cable", "declare", "graph")
    for key in added:
        declare.items.append(
            Item(f"link:{'|'.join(key)}", f"{key[0]} {key[1]} <-> {key[2]} {key[3]}")
        )
    drop = plan.step("cable", "delete", "graph")
    for key in removed:
        drop.items.append(Item(f"link:{'|'.join(key)}", f"{key[0]} {key[1]} <-> {key[2]} {key[3]}"))
    plan.payload["patches"] = patches
    if added or removed:
        when = now or datetime.now(UTC)
        owners = sorted({d for k in [*wanted_links, *have] for d in (k[0], k[2])})
        plan.payload["snapshot"] = Snapshot(
            snapshot_id=f"netbox-{when.strftime('%Y%m%dT%H%M%S.%fZ')}",
            source="netbox",
            collected_at=when,
            scope=tuple(ScopeEntry(device=d, facts=(FactKind.LINKS,)) for d in owners),
            links=tuple(wanted_links[k] for k in sorted(wanted_links)),
        )
    return plan
