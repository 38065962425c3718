"""Push: an interface's MAC and addresses, and a device's primary IP.

NetBox allows several MAC objects with one address on an interface (and, without
``ENFORCE_GLOBAL_UNIQUE``, several copies of an address): the push uses one, always the same
(the one in use, else one the sync did not create, else the oldest), whatever order NetBox
lists them in, and deletes the other copies the sync made itself. On an interface or device it
did not create, a primary MAC or IP NetBox already has is kept unless overwritten (``_owner``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from network_discovery.integrations.netbox._owner import tag_slugs
from network_discovery.integrations.netbox._plan import Conflict, Item, Ref
from network_discovery.model import normalise_mac

if TYPE_CHECKING:
    from network_discovery.integrations.netbox._push import _Planner

__all__ = ["plan_address", "plan_mac", "plan_primary_ip"]

_IFACE = "dcim.interface"


def _keeper(
    copies: list[dict[str, Any]], in_use: set[int], slug: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Of several NetBox copies of one object: the one to keep (the one in use, else one the
    sync did not create, else the oldest) and the others the sync created, to delete."""
    ordered = sorted(
        copies, key=lambda c: (int(c["id"]) not in in_use, slug in tag_slugs(c), int(c["id"]))
    )
    return ordered[0], [c for c in ordered[1:] if slug in tag_slugs(c)]


def _ids(*objects: Any) -> set[int]:
    return {int(o["id"]) for o in objects if isinstance(o, dict) and o.get("id") is not None}


def plan_mac(
    p: _Planner,
    row: dict[str, Any],
    iface: dict[str, Any],
    where: tuple[str, str],
    current: dict[str, Any] | None,
) -> None:
    """The interface's MAC object (found, or created) and its primary MAC; the sync's own
    extra copies of it are deleted."""
    ikey, label = where
    if not iface.get("mac"):
        return
    mac = normalise_mac(iface["mac"])
    mkey = f"mac:{row['device']}|{iface['name']}|{mac}"
    primary = (current or {}).get("primary_mac_address") or {}
    copies = [
        m
        for m in (p.s.macs_of(int(current["id"])) if current else [])
        if normalise_mac(m["mac_address"]) == mac
    ]
    if copies:
        keep, extra = _keeper(copies, _ids(primary), p.plan.tag)
        p.plan.known[mkey] = int(keep["id"])
        for copy in extra:
            _collapse(p, "duplicate mac address", "dcim/mac-addresses", copy, label, keep)
    else:
        p.tag_needed = True
        p.plan.step("mac address", "create", "dcim/mac-addresses").items.append(
            Item(
                mkey,
                f"{label} {mac}",
                {
                    "mac_address": mac.upper(),
                    "assigned_object_type": _IFACE,
                    "assigned_object_id": Ref(ikey),
                    "tags": p.tag,
                },
            )
        )
    if primary.get("id") is not None and primary.get("id") == p.plan.known.get(mkey):
        return
    shown = (primary.get("mac_address"), mac.upper())
    if p.own.may_write(
        current, "interface", label, "primary_mac_address", primary.get("id"), shown
    ):
        p.plan.step("interface primary MAC", "update", "dcim/interfaces").items.append(
            Item(
                ikey,
                label,
                {"primary_mac_address": Ref(mkey)},
                {"primary_mac_address": shown},
                id=int(current["id"]) if current else None,
            )
        )


def _collapse(
    p: _Planner, kind: str, endpoint: str, copy: dict[str, Any], label: str, keep: dict[str, Any]
) -> None:
    value = copy.get("mac_address") or copy.get("address")
    p.collapsed.add(int(copy["id"]))
    p.plan.step(kind, "delete", endpoint).items.append(
        Item(
            f"{endpoint}:{copy['id']}",
            f"{label} {value} (#{copy['id']}, a copy of #{keep['id']})",
            id=int(copy["id"]),
        )
    )


def plan_address(
    p: _Planner,
    address: str,
    where: tuple[str, str],
    current: dict[str, Any] | None,
    nb: dict[str, Any] | None,
) -> None:
    """An address on its interface: found there (the sync's own extra copies deleted),
    found unassigned (assigned), found elsewhere (a conflict) or created."""
    ikey, label = where
    akey = f"ip:{ikey.removeprefix('iface:')}|{address}"
    same = p.s.addresses_named(address)
    here = [a for a in same if current and a.get("assigned_object_id") == current["id"]]
    if here:
        in_use = _ids((nb or {}).get("primary_ip4"), (nb or {}).get("primary_ip6"))
        keep, extra = _keeper(here, in_use, p.plan.tag)
        p.plan.known[akey] = int(keep["id"])
        for copy in extra:
            if copy.get("address") == keep.get("address"):
                _collapse(p, "duplicate ip address", "ipam/ip-addresses", copy, label, keep)
        return
    free = [a for a in same if a.get("assigned_object_id") is None]
    elsewhere = [a for a in same if a.get("assigned_object_id") is not None]
    if elsewhere and not free:
        other = elsewhere[0].get("assigned_object") or {}
        there = f"{(other.get('device') or {}).get('name')} {other.get('name')}"
        p.plan.conflicts.append(
            Conflict(
                "ip address",
                f"{label} {address}",
                f"NetBox has it on {there}; not moved (fix the address in NetBox or the device)",
            )
        )
        return
    if free:
        p.plan.known[akey] = int(free[0]["id"])
        p.plan.step("ip address", "update", "ipam/ip-addresses").items.append(
            Item(
                akey,
                f"{label} {address}",
                {"assigned_object_type": _IFACE, "assigned_object_id": Ref(ikey)},
                {"assigned_object": (None, label)},
                id=int(free[0]["id"]),
            )
        )
        return
    p.tag_needed = True
    p.plan.step("ip address", "create", "ipam/ip-addresses").items.append(
        Item(
            akey,
            f"{label} {address}",
            {
                "address": address,
                "status": "active",
                "assigned_object_type": _IFACE,
                "assigned_object_id": Ref(ikey),
                "tags": p.tag,
            },
        )
    )


def plan_primary_ip(p: _Planner, row: dict[str, Any], dkey: str, nb: dict[str, Any] | None) -> None:
    """The device's primary IPv4/IPv6: its management address, when on one of its interfaces."""
    mgmt = row.get("management_ip")
    if not mgmt:
        return
    for iface in row.get("interfaces", []):
        for address in iface.get("addresses", []):
            if address.split("/")[0] != mgmt:
                continue
            field = "primary_ip6" if ":" in mgmt else "primary_ip4"
            akey = f"ip:{row['device']}|{iface['name']}|{address}"
            current = (nb or {}).get(field) or {}
            have = current.get("id")
            if have is not None and have == p.plan.known.get(akey):
                return
            shown = (current.get("address"), address)
            creates = p.plan.step("ip address", "create", "ipam/ip-addresses").items
            if akey not in p.plan.known and not any(i.key == akey for i in creates):
                return  # the address is another device's (a conflict): not ours to point at
            if p.own.may_write(nb, "device", row["device"], field, have, shown):
                p.plan.step("device primary IP", "update", "dcim/devices").items.append(
                    Item(
                        dkey,
                        row["device"],
                        {field: Ref(akey)},
                        {field: shown},
                        id=int(nb["id"]) if nb else None,
                    )
                )
            return
