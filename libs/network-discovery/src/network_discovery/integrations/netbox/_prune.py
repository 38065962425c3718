"""Prune: delete what the sync created and discovery no longer reports, and nothing else,
neither directly nor by NetBox's cascades.

NetBox 4.2 deletes an interface's IP addresses, MAC addresses, cable end, FHRP group
assignments and L2VPN termination with it, and a device's components with the device; it
refuses to delete a parent interface while a sub-interface of it is left. So, before deleting
an interface the sync created:

- the sync's own addresses and MACs on it are deleted first (their own plan lines);
- addresses and MACs it did not create are unassigned first (a MAC that is the interface's
  primary MAC is made not primary first, since NetBox refuses to unassign it otherwise);
- it is kept, as a conflict saying why, when something on it can be neither deleted nor
  moved away: a cable, an FHRP group or L2VPN assignment, a sub-interface that stays, or an
  address the sync did not create that is a device's primary IP (NetBox refuses to unassign
  that one).

A device the sync created is deleted only when every component on it is an interface the sync
created and can delete; else it is kept, as a conflict. So every object that disappears is on
a plan line of its own, and a dry run lists them all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from network_discovery.integrations.netbox._owner import tag_slugs
from network_discovery.integrations.netbox._plan import Conflict, Item
from network_discovery.integrations.netbox._push_l2 import prune_vlans

if TYPE_CHECKING:
    from network_discovery.integrations.netbox._push import _Planner

__all__ = ["plan_prune"]

_IFACE = "dcim.interface"
#: device components other than interfaces, as NetBox counts them on a device
_COMPONENTS = (
    ("console_port_count", "console port"),
    ("console_server_port_count", "console server port"),
    ("power_port_count", "power port"),
    ("power_outlet_count", "power outlet"),
    ("front_port_count", "front port"),
    ("rear_port_count", "rear port"),
    ("device_bay_count", "device bay"),
    ("module_bay_count", "module bay"),
    ("inventory_item_count", "inventory item"),
)
_UNASSIGN = {"assigned_object_type": None, "assigned_object_id": None}


def _id(value: Any) -> int | None:
    return int(value["id"]) if isinstance(value, dict) and value.get("id") is not None else None


class _Pruner:
    def __init__(self, planner: _Planner, matched: set[int]) -> None:
        self.p = planner
        self.plan = planner.plan
        self.s = planner.s
        self.slug = planner.plan.tag
        self.matched = matched
        self.ifaces: dict[int, dict[str, Any]] = {
            int(i["id"]): i for rows in self.s.interfaces.values() for i in rows
        }
        self.ips_on: dict[int, list[dict[str, Any]]] = defaultdict(list)
        seen: set[int] = set()
        for rows in self.s.addresses.values():
            for ip in rows:
                owner = ip.get("assigned_object_id")
                if owner is not None and int(ip["id"]) not in seen:
                    seen.add(int(ip["id"]))
                    self.ips_on[int(owner)].append(ip)
        self.children: dict[int, list[int]] = defaultdict(list)
        for iface in self.ifaces.values():
            parent = _id(iface.get("parent"))
            if parent is not None:
                self.children[parent].append(int(iface["id"]))
        #: IP id -> the device it is primary for once the run's own primary-IP updates (made
        #: before anything is unassigned) are done
        self.primary_of: dict[int, str] = {}
        repointed = {
            (item.id, field)
            for item in self.plan.step("device primary IP", "update", "dcim/devices").items
            for field in item.body
        }
        for nb in self.s.devices:
            for field in ("primary_ip4", "primary_ip6"):
                primary = _id(nb.get(field))
                if primary is not None and (int(nb["id"]), field) not in repointed:
                    self.primary_of[primary] = str(nb.get("name"))

    def ours(self, obj: dict[str, Any]) -> bool:
        return self.slug in tag_slugs(obj)

    def label(self, iface: dict[str, Any]) -> str:
        return f"{(iface.get('device') or {}).get('name')} {iface.get('name')}"

    # --- what keeps an interface ----------------------------------------------------------

    def blockers(self, iface: dict[str, Any], going: set[int]) -> list[str]:
        why: list[str] = []
        cable = iface.get("cable")
        if cable:
            why.append(f"cable {cable.get('display') or '#' + str(cable.get('id'))} ends on it")
        if iface.get("count_fhrp_groups"):
            why.append(f"{iface['count_fhrp_groups']} FHRP group assignment(s) on it")
        if iface.get("l2vpn_termination"):
            why.append("an L2VPN termination on it")
        for ip in self.ips_on.get(int(iface["id"]), []):
            if not self.ours(ip) and int(ip["id"]) in self.primary_of:
                why.append(
                    f"{ip.get('address')} on it, not created by the sync, is "
                    f"{self.primary_of[int(ip['id'])]}'s primary IP"
                )
        for child in sorted(self.children.get(int(iface["id"]), [])):
            if child not in going:
                why.append(f"sub-interface {self.ifaces[child].get('name')} stays")
        return why

    def settle(self, candidates: set[int]) -> tuple[set[int], dict[int, list[str]]]:
        """The candidates that can go, and why each other one stays (to a fixed point: a
        parent stays when a sub-interface of it stays)."""
        going, kept = set(candidates), {}
        changed = True
        while changed:
            changed = False
            for oid in sorted(going):
                why = self.blockers(self.ifaces[oid], going)
                if why:
                    kept[oid] = why
                    going.discard(oid)
                    changed = True
        return going, kept

    # --- the plan -------------------------------------------------------------------------

    def run(self) -> None:
        known = {
            v for k, v in self.plan.known.items() if k.startswith(("ip:", "mac:", "iface:"))
        } | self.p.collapsed
        on_matched = {
            int(i["id"])
            for d in self.matched
            for i in self.s.interfaces_of(d)
            if self.ours(i) and int(i["id"]) not in known
        }
        devices = [
            nb for nb in self.s.devices if self.ours(nb) and int(nb["id"]) not in self.matched
        ]
        device_why: dict[int, list[str]] = {}
        for nb in devices:
            why = [
                f"{nb[count]} {what}(s) the sync did not create"
                for count, what in _COMPONENTS
                if nb.get(count)
            ]
            why += [
                f"interface {i.get('name')} was not created by the sync"
                for i in self.s.interfaces_of(int(nb["id"]))
                if not self.ours(i)
            ]
            if why:
                device_why[int(nb["id"])] = why
        while True:
            candidates = on_matched | {
                int(i["id"])
                for nb in devices
                if int(nb["id"]) not in device_why
                for i in self.s.interfaces_of(int(nb["id"]))
            }
            going, kept = self.settle(candidates)
            more = {
                int(nb["id"]): [
                    f"interface {self.ifaces[k].get('name')} cannot go: {'; '.join(kept[k])}"
                    for k in sorted(kept)
                    if _id(self.ifaces[k].get("device")) == int(nb["id"])
                ]
                for nb in devices
                if int(nb["id"]) not in device_why
            }
            more = {k: v for k, v in more.items() if v}
            if not more:
                break
            device_why.update(more)
        for oid in sorted(kept):
            if oid in on_matched:
                self._conflict("interface", self.label(self.ifaces[oid]), kept[oid])
        self._addresses(known, going)
        self._macs(known, going)
        self._interfaces(going)
        for nb in devices:
            if int(nb["id"]) in device_why:
                self._conflict("device", str(nb.get("name")), device_why[int(nb["id"])])
            else:
                self.plan.step("device", "delete", "dcim/devices").items.append(
                    Item(f"dcim/devices:{nb['id']}", str(nb.get("name")), id=int(nb["id"]))
                )
        prune_vlans(self.p, self.slug)  # last: it looks at the interfaces and devices deleted

    def _conflict(self, kind: str, label: str, why: list[str]) -> None:
        self.plan.conflicts.append(Conflict(kind, label, f"kept, not pruned: {'; '.join(why)}"))

    def _addresses(self, known: set[int], going: set[int]) -> None:
        on_matched = {int(i["id"]) for d in self.matched for i in self.s.interfaces_of(d)}
        for owner in sorted(on_matched | going):
            iface = self.ifaces.get(owner)
            for ip in sorted(self.ips_on.get(owner, []), key=lambda a: int(a["id"])):
                label = f"{self.label(iface or {})} {ip.get('address')}"
                if self.ours(ip) and int(ip["id"]) not in known:
                    self.plan.step("ip address", "delete", "ipam/ip-addresses").items.append(
                        Item(f"ipam/ip-addresses:{ip['id']}", label, id=int(ip["id"]))
                    )
                elif owner in going and not self.ours(ip):
                    self.plan.step("ip address", "unassign", "ipam/ip-addresses").items.append(
                        Item(
                            f"ipam/ip-addresses:{ip['id']}",
                            label,
                            dict(_UNASSIGN),
                            {"assigned_object": (self.label(iface or {}), None)},
                            id=int(ip["id"]),
                        )
                    )

    def _macs(self, known: set[int], going: set[int]) -> None:
        on_matched = {int(i["id"]) for d in self.matched for i in self.s.interfaces_of(d)}
        for owner in sorted(on_matched | going):
            iface = self.ifaces.get(owner) or {}
            primary = _id(iface.get("primary_mac_address"))
            for mac in sorted(self.s.macs_of(owner), key=lambda m: int(m["id"])):
                label = f"{self.label(iface)} {mac.get('mac_address')}"
                if self.ours(mac) and int(mac["id"]) not in known:
                    self.plan.step("mac address", "delete", "dcim/mac-addresses").items.append(
                        Item(f"dcim/mac-addresses:{mac['id']}", label, id=int(mac["id"]))
                    )
                elif owner in going and not self.ours(mac):
                    if primary == int(mac["id"]):  # NetBox will not unassign a primary MAC
                        self.plan.step(
                            "interface primary MAC", "update", "dcim/interfaces"
                        ).items.append(
                            Item(
                                f"dcim/interfaces:{owner}",
                                self.label(iface),
                                {"primary_mac_address": None},
                                {"primary_mac_address": (mac.get("mac_address"), None)},
                                id=owner,
                            )
                        )
                    self.plan.step("mac address", "unassign", "dcim/mac-addresses").items.append(
                        Item(
                            f"dcim/mac-addresses:{mac['id']}",
                            label,
                            dict(_UNASSIGN),
                            {"assigned_object": (self.label(iface), None)},
                            id=int(mac["id"]),
                        )
                    )

    def _interfaces(self, going: set[int]) -> None:
        stages: dict[int, int] = {}

        def stage(oid: int) -> int:  # sub-interfaces go in an earlier request than parents
            if oid not in stages:
                below = [stage(c) for c in self.children.get(oid, []) if c in going]
                stages[oid] = 1 + max(below) if below else 0
            return stages[oid]

        step = self.plan.step("interface", "delete", "dcim/interfaces")
        for oid in sorted(going, key=lambda o: (self.label(self.ifaces[o]), o)):
            step.items.append(
                Item(
                    f"dcim/interfaces:{oid}",
                    self.label(self.ifaces[oid]),
                    id=oid,
                    stage=stage(oid),
                )
            )


def plan_prune(planner: _Planner, matched: set[int]) -> None:
    """Plan deleting what the sync created that discovery no longer reports, on the devices
    ``matched`` (NetBox ids) and the sync's own devices nothing matched."""
    _Pruner(planner, matched).run()
