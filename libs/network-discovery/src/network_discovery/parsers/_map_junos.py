"""Junos structured output of the switching, BGP and routing tables (``show
ethernet-switching table``, ``show vlans``, ``show bgp summary``, ``show route``, as
``| display json`` or ``| display xml``) read into the rows of the command's text template, and
the leaf readers that every Junos adapter (here and in ``_json_junos``) shares.

Every leaf is ``"key": [{"data": value}]``; a key that is missing or empty is None in the row.
A document that is not the command's output raises :class:`JsonOutputError` or KeyError.
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.parsers._json_base import Row, junos_leaf, junos_list
from network_discovery.parsers._values import is_mac

__all__ = [
    "junos_bgp_summary",
    "junos_mac_table",
    "junos_route",
    "junos_vlans",
    "leaf",
    "leaves",
]


def leaf(entry: dict[str, Any], key: str) -> str | None:
    """A leaf's text, stripped; None when the key is missing, empty or an empty element."""
    value = junos_leaf(entry, key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def leaves(entry: dict[str, Any], key: str) -> list[str]:
    """Every value of a leaf that may repeat (``lldp-remote-management-address``)."""
    found = []
    for item in entry.get(key) or []:
        value = item.get("data") if isinstance(item, dict) else None
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return found


def _seconds(entry: dict[str, Any], key: str) -> str | None:
    """An elapsed time in the seconds Junos gives with it (``junos:seconds``, as ``26528s``),
    else as printed."""
    value = entry.get(key)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        attributes = value[0].get("attributes") or {}
        seconds = attributes.get("junos:seconds") or attributes.get("seconds")
        if isinstance(seconds, str) and seconds.isdigit():
            return f"{seconds}s"
    return leaf(entry, key)


# --- MAC table ---------------------------------------------------------------------------


def _flag_letters(flags: str | None) -> str | None:
    """The detail form's entry flags (``in_hash,...,kernel,ctrl_dyn``) as the letters the
    brief form prints: ``S`` static or ``D`` dynamic, then ``R`` when learned from a remote
    (EVPN) peer."""
    if flags is None:
        return None
    words = {word.strip() for word in flags.split(",")}
    letters = "S" if "static" in words else "D"
    return letters + ("R" if words & {"ctrl_dyn", "rcvd_from_remote"} else "")


def _els_entry(entry: dict[str, Any], instance: str | None) -> Row:
    return {
        "routing_instance": leaf(entry, "l2ng-l2-mac-routing-instance") or instance,
        "vlan_name": leaf(entry, "l2ng-l2-mac-vlan-name"),
        # the detail form names the entry's tag; the brief one only its VLAN's name
        "vlan_id": leaf(entry, "l2ng-l2-vlan-id"),
        "mac_address": leaf(entry, "l2ng-l2-mac-address"),
        "mac_flag": leaf(entry, "l2ng-l2-mac-flags")
        or _flag_letters(leaf(entry, "l2ng-l2-mac-entry-flags")),
        "age": leaf(entry, "l2ng-l2-mac-age"),
        "logical_interface": leaf(entry, "l2ng-l2-mac-logical-interface"),
    }


def _legacy_entry(entry: dict[str, Any]) -> Row:
    ports = [
        port
        for block in entry.get("mac-interfaces-list") or []
        for port in leaves(block, "mac-interfaces")
    ]
    return {
        "vlan_name": leaf(entry, "mac-vlan"),
        "vlan_id": leaf(entry, "mac-vlan-tag"),
        "mac_address": leaf(entry, "mac-address"),
        "type": leaf(entry, "mac-type"),
        "age": leaf(entry, "mac-age"),
        "logical_interface": leaf(entry, "mac-interface") or (ports[0] if ports else None),
    }


def junos_mac_table(doc: Any) -> list[Row]:
    """``show ethernet-switching table [detail]``: ELS (``l2ng-l2ald-rtb-macdb``: per routing
    instance ``l2ng-mac-entry`` rows in the brief form, one block per MAC in the detail form)
    or the legacy EX layout (``ethernet-switching-table-information``). Ports are kept as
    printed (``vtep.32769`` for a MAC behind a remote VTEP); flood entries (``*``) are left
    out."""
    rows: list[Row] = []
    if "ethernet-switching-table-information" in doc:
        tables = ("ethernet-switching-table-information", "ethernet-switching-table")
        for table in junos_list(doc, *tables):
            rows.extend(_legacy_entry(entry) for entry in table.get("mac-table-entry") or [])
    else:
        for group in junos_list(doc, "l2ng-l2ald-rtb-macdb", "l2ng-l2ald-mac-entry-vlan"):
            instance = leaf(group, "l2ng-l2-mac-routing-instance")
            entries = group.get("l2ng-mac-entry")
            if entries is None:  # the detail form: the block is the entry
                rows.append(_els_entry(group, instance))
            else:
                rows.extend(_els_entry(entry, instance) for entry in entries)
    return [row for row in rows if is_mac(row["mac_address"])]


# --- VLANs -------------------------------------------------------------------------------


def _members(group: dict[str, Any]) -> list[str]:
    found = [
        name
        for block in group.get("l2ng-l2rtb-vlan-member") or []
        for name in leaves(block, "l2ng-l2rtb-vlan-member-interface")
    ]
    for detail in group.get("vlan-detail") or []:  # legacy EX
        for member_list in detail.get("vlan-member-list") or []:
            for member in member_list.get("vlan-member") or []:
                found.extend(leaves(member, "vlan-member-interface"))
    return found


def junos_vlans(doc: Any) -> list[Row]:
    """``show vlans [detail]``: ELS (``l2ng-l2ald-vlan-instance-group``) or the legacy EX
    layout (``vlan-information/vlan``): name, tag, routing instance and members as printed
    (``xe-0/0/2.0*``: the member is up)."""
    if "vlan-information" in doc:
        info = "vlan-information"
        groups = junos_list(doc, info, "l2ng-l2ald-vlan-instance-group") + junos_list(
            doc, info, "vlan"
        )
    else:
        info = "l2ng-l2ald-vlan-instance-information"
        groups = junos_list(doc, info, "l2ng-l2ald-vlan-instance-group")
    rows = []
    for group in groups:
        tag = leaf(group, "l2ng-l2rtb-vlan-tag") or leaf(group, "vlan-tag")
        rows.append(
            {
                "routing_instance": leaf(group, "l2ng-l2rtb-name"),
                "vlan_name": leaf(group, "l2ng-l2rtb-vlan-name") or leaf(group, "vlan-name"),
                # the legacy layout tags an untagged VLAN 0 (none, in the ELS one)
                "tag": None if (tag or "").lower() in ("0", "none") else tag,
                "interfaces": _members(group),
            }
        )
    return rows


# --- BGP ---------------------------------------------------------------------------------

#: A unicast table of a routing instance: ``VRF-A.inet.0``, ``CUSTOMERS.inet6.0``.
_INSTANCE_TABLE = re.compile(r"^(?P<instance>.+)\.inet6?\.\d+$")


def _instance(tables: list[str]) -> str | None:
    """The routing instance of a peer whose every table is one instance's unicast table; a
    peer of the master instance names ``inet.0``, ``bgp.evpn.0``..."""
    found = {m["instance"] if (m := _INSTANCE_TABLE.match(t)) else None for t in tables}
    return found.pop() if len(found) == 1 else None


def _counts(ribs: list[dict[str, Any]], key: str) -> list[str]:
    return [count for rib in ribs if (count := leaf(rib, key)) is not None and count.isdigit()]


def junos_bgp_summary(doc: Any) -> list[Row]:
    """``show bgp summary``: one row per peer, with each table's prefix counts as our text
    template, the up/down time in seconds and the routing instance when every table the
    peer feeds is one instance's. The captures seen (vQFX 18.1, 19.4, vMX 18.2) print no
    local AS (meta.yaml's ``bgp_asn`` is used); ``BGP is not running`` is no peers."""
    if "bgp-information" not in doc:
        said = " ".join(leaves(doc, "output")).lower() if isinstance(doc, dict) else ""
        if "not running" in said:
            return []
        raise KeyError("bgp-information")
    rows: list[Row] = []
    for peer in junos_list(doc, "bgp-information", "bgp-peer"):
        ribs = peer.get("bgp-rib") or []
        tables = [name for rib in ribs if (name := leaf(rib, "name"))]
        address = leaf(peer, "peer-address")
        rows.append(
            {
                "peer_ip": address.split("+")[0] if address else None,  # "10.0.0.1+179"
                "peer_as": leaf(peer, "peer-as"),
                "in_pkt": leaf(peer, "input-messages"),
                "out_pkt": leaf(peer, "output-messages"),
                "out_q": leaf(peer, "route-queue-count"),
                "flaps": leaf(peer, "flap-count"),
                "up_down": _seconds(peer, "elapsed-time"),
                "state": leaf(peer, "peer-state"),
                "description": leaf(peer, "description"),
                "local_as": leaf(peer, "local-as"),  # not printed by the releases seen
                "table": tables,
                "active": _counts(ribs, "active-prefix-count"),
                "received": _counts(ribs, "received-prefix-count"),
                "accepted": _counts(ribs, "accepted-prefix-count"),
                "vrf": _instance(tables),
            }
        )
    return rows


# --- routes ------------------------------------------------------------------------------

_IP_PREFIX = re.compile(r"^[0-9a-fA-F:.]+/\d+$")


def _hops(entry: dict[str, Any]) -> list[str]:
    """The next hops as the text prints them: ``to 10.0.0.1 via xe-0/0/0.0``, ``via irb.10``,
    ``Local via lo0.0``, ``to table inet.0``; else the entry's kind (``Discard``,
    ``Reject``, ``Receive``, ``MultiRecv``, ``Indirect``...)."""
    hops = []
    for hop in entry.get("nh") or []:
        to, via = leaf(hop, "to"), leaf(hop, "via")
        local, table = leaf(hop, "nh-local-interface"), leaf(hop, "nh-table")
        if local:
            hops.append(f"Local via {local}")
        elif via:
            hops.append(f"to {to} via {via}" if to else f"via {via}")
        elif table:
            hops.append(f"to table {table}")
        elif to:
            hops.append(f"to {to}")
    kind = leaf(entry, "nh-type")
    return hops or ([kind] if kind else [])


def junos_route(doc: Any) -> list[Row]:
    """``show route``: one row per route entry of every table (a destination has one per
    protocol), with its active tag as printed (``*`` active; ``@``/``#`` routing/forwarding
    use only), preference, metric and next hops; destinations that are not IP prefixes
    (MPLS labels, EVPN routes) are left out, as by our text template."""
    rows: list[Row] = []
    for table in junos_list(doc, "route-information", "route-table"):
        name = leaf(table, "table-name")
        for route in table.get("rt") or []:
            prefix = leaf(route, "rt-destination")
            length = leaf(route, "rt-prefix-length")  # the detail form: 1.0.4.0 and 24
            if prefix and "/" not in prefix and length and length.isdigit():
                prefix = f"{prefix}/{length}"
            if prefix is None or not _IP_PREFIX.match(prefix):
                continue
            for entry in route.get("rt-entry") or []:
                protocol = leaf(entry, "protocol-name")
                if protocol is None:
                    continue
                rows.append(
                    {
                        "table": name,
                        "prefix": prefix,
                        "protocol": protocol,
                        "active": leaf(entry, "active-tag"),
                        "preference": leaf(entry, "preference"),
                        "metric": leaf(entry, "metric"),
                        "hop": _hops(entry),
                    }
                )
    return rows
