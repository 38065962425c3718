"""Push, layer 2: LAG membership, parent interfaces and VLANs.

An interface's ``lag`` and ``parent`` point at interfaces of the same device; its 802.1Q mode
comes from discovery's (``access`` is NetBox's ``access``; a trunk is ``tagged`` with the VLANs
it allows, or ``tagged-all`` when discovery lists none), its untagged VLAN from the access or
native VLAN. VLANs are NetBox VLANs of the device's NetBox site (NetBox accepts no other site's
on the interface), found by VLAN id or created there, named as the device names them.
Everything is compared with NetBox first, so a second run plans nothing. On an interface the
sync did not create, only empty fields are filled (``_owner``); when its 802.1Q mode is kept as
NetBox has it, so are its VLANs (NetBox refuses VLANs that do not fit the mode), each
difference a drift entry. A prune deletes a tagged VLAN only when no interface will use it once
the run is done, whoever's it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from network_discovery.integrations.netbox._kinds import interface_type
from network_discovery.integrations.netbox._plan import Conflict, Item, Ref
from network_discovery.model import canonical_interface_name

if TYPE_CHECKING:
    from network_discovery.integrations.netbox._push import _Planner

__all__ = ["L2_STEP", "plan_layer2", "prune_vlans", "wanted_vlans"]

L2_STEP = "interface LAG, parent and VLANs"
_ALL_VLANS = 4094
_NAMED = 3  # interfaces a kept VLAN's conflict names


def wanted_vlans(
    iface: dict[str, Any], device_vlans: set[int]
) -> tuple[str | None, int | None, list[int]]:
    """(NetBox mode, untagged VLAN id, tagged VLAN ids) for a discovered interface."""
    mode = iface.get("mode")
    if mode == "access":
        return "access", iface.get("access_vlan"), []
    if mode != "trunk":
        return None, None, []
    native = iface.get("native_vlan")
    listed = iface.get("trunk_vlans") or []
    if not listed or len(listed) >= _ALL_VLANS:
        return "tagged-all", native, []
    allowed = [v for v in listed if v != native]
    if device_vlans:  # a trunk allowing ranges: tag the VLANs the device has
        allowed = [v for v in allowed if v in device_vlans]
    return "tagged", native, sorted(set(allowed))


def _id(value: Any) -> int | None:
    return int(value["id"]) if isinstance(value, dict) and value.get("id") is not None else None


def _value(choice: Any) -> str | None:
    return (choice.get("value") or None) if isinstance(choice, dict) else choice or None


class _Layer2:
    def __init__(self, planner: _Planner, row: dict[str, Any], dkey: str, site: Any) -> None:
        self.p, self.row, self.dkey, self.site = planner, row, dkey, site
        self.platform = row.get("platform")
        self.names = {i["name"] for i in row.get("interfaces", [])}
        self.vlan_names = {int(v["vlan"]): v.get("name") for v in row.get("vlans") or []}

    def _sibling(self, name: str | None) -> Ref | None:
        if not name:
            return None
        for candidate in (name, canonical_interface_name(name, self.platform)):
            if candidate in self.names:
                return Ref(f"iface:{self.row['device']}|{candidate}")
        return None

    def _vlan(self, vid: int) -> Ref | None:
        site_id = self.site if isinstance(self.site, int) else self.p.plan.known.get(self.site.key)
        token = site_id if site_id is not None else self.site.key
        key = f"ipam/vlans:{token}|{vid}"
        if key in self.p.plan.known or key in self.p.vlans_planned:
            return Ref(key)
        found = self.p.s.vlans_at(site_id, vid) if site_id is not None else []
        if len(found) > 1:
            self.p.plan.conflicts.append(
                Conflict(
                    "vlan",
                    f"{self.row['device']} VLAN {vid}",
                    f"{len(found)} NetBox VLANs {vid} at the device's site; none assigned",
                )
            )
            return None
        if found:
            self.p.plan.known[key] = int(found[0]["id"])
            return Ref(key)
        name = self.vlan_names.get(vid) or f"VLAN{vid:04d}"
        self.p.tag_needed = True
        self.p.vlans_planned.add(key)
        site: int | Ref = site_id if site_id is not None else self.site
        self.p.plan.step("vlan", "create", "ipam/vlans").items.append(
            Item(
                key,
                f"{name} ({vid})",
                {
                    "site": site,
                    "vid": vid,
                    "name": name[:64],
                    "status": "active",
                    "tags": self.p.tag,
                },
            )
        )
        return Ref(key)

    def same(self, want: Any, have: int | None) -> bool:
        if isinstance(want, Ref):
            return have is not None and self.p.plan.known.get(want.key) == have
        return want == have

    def interface(self, iface: dict[str, Any], ikey: str, current: dict[str, Any] | None) -> None:
        label = f"{self.row['device']} {iface['name']}"
        kind = (
            _value((current or {}).get("type"))
            if current
            else interface_type(iface["name"], iface.get("speed_mbps"))
        )
        body: dict[str, Any] = {}
        changes: dict[str, tuple[Any, Any]] = {}
        have = current or {}
        parent, lag = self._sibling(iface.get("parent")), self._sibling(iface.get("lag"))
        if iface.get("parent") and kind != "virtual":
            self._refuse(
                label,
                f"parent {iface['parent']} not set: NetBox gives virtual interfaces alone a parent",
            )
        elif iface.get("parent") and parent is None:
            self._refuse(
                label, f"parent {iface['parent']} not set: the device reports no such port"
            )
        elif parent is not None and not self.same(parent, _id(have.get("parent"))):
            shown = ((have.get("parent") or {}).get("name"), iface["parent"])
            if self.p.own.may_write(
                current, "interface", label, "parent", have.get("parent"), shown
            ):
                body["parent"] = parent
                changes["parent"] = shown
        if iface.get("lag") and kind == "virtual":
            self._refuse(
                label, f"LAG {iface['lag']} not set: NetBox puts no virtual interface in a LAG"
            )
        elif iface.get("lag") and lag is None:
            self._refuse(label, f"LAG {iface['lag']} not set: the device reports no such port")
        elif lag is not None and not self.same(lag, _id(have.get("lag"))):
            shown = ((have.get("lag") or {}).get("name"), iface["lag"])
            if self.p.own.may_write(current, "interface", label, "lag", have.get("lag"), shown):
                body["lag"] = lag
                changes["lag"] = shown
        mode, untagged, tagged = wanted_vlans(iface, set(self.vlan_names))
        if mode is not None:
            self._vlans(body, changes, current, label, (mode, untagged, tagged))
        if body:
            self.p.plan.step(L2_STEP, "update", "dcim/interfaces").items.append(
                Item(ikey, label, body, changes, id=int(current["id"]) if current else None)
            )

    def _vlans(
        self,
        body: dict[str, Any],
        changes: dict[str, tuple[Any, Any]],
        current: dict[str, Any] | None,
        label: str,
        wanted: tuple[str, int | None, list[int]],
    ) -> None:
        mode, untagged, tagged = wanted
        have = current or {}
        own = self.p.own
        have_mode = _value(have.get("mode"))
        if have_mode != mode:
            if not own.may_write(current, "interface", label, "mode", have_mode, (have_mode, mode)):
                self._kept_vlans(have, label, untagged, tagged)
                return
            body["mode"] = mode
            changes["mode"] = (have_mode, mode)
        if untagged is not None:
            ref = self._vlan(untagged)
            was = have.get("untagged_vlan")
            shown = ((was or {}).get("vid"), untagged)
            if (
                ref is not None
                and not self.same(ref, _id(was))
                and own.may_write(current, "interface", label, "untagged_vlan", was, shown)
            ):
                body["untagged_vlan"] = ref
                changes["untagged_vlan"] = shown
        refs = [r for r in (self._vlan(v) for v in tagged) if r is not None]
        now = sorted(_id(v) or 0 for v in have.get("tagged_vlans") or [])
        known = [self.p.plan.known.get(r.key) for r in refs]
        if (refs or now) and (None in known or sorted(k or 0 for k in known) != now):
            shown_tagged = (sorted(v.get("vid") for v in have.get("tagged_vlans") or []), tagged)
            was_tagged = have.get("tagged_vlans") or []
            if own.may_write(current, "interface", label, "tagged_vlans", was_tagged, shown_tagged):
                body["tagged_vlans"] = refs
                changes["tagged_vlans"] = shown_tagged

    def _kept_vlans(
        self, have: dict[str, Any], label: str, untagged: int | None, tagged: list[int]
    ) -> None:
        """NetBox's mode stays: so do its VLANs; each difference is drift."""
        have_untagged = (have.get("untagged_vlan") or {}).get("vid")
        if untagged is not None and have_untagged != untagged:
            needs = ("mode",) if have_untagged is None else ("mode", "untagged_vlan")
            self.p.own.disagree("interface", label, "untagged_vlan", have_untagged, untagged, needs)
        have_tagged = sorted(v.get("vid") for v in have.get("tagged_vlans") or [])
        if tagged and have_tagged != sorted(tagged):
            needs = ("mode",) if not have_tagged else ("mode", "tagged_vlans")
            self.p.own.disagree("interface", label, "tagged_vlans", have_tagged, tagged, needs)

    def _refuse(self, label: str, reason: str) -> None:
        self.p.plan.conflicts.append(Conflict("interface", label, reason))


def plan_layer2(planner: _Planner, row: dict[str, Any], dkey: str, site: int | Ref) -> None:
    """Plan the LAG, parent and VLAN changes of one device's interfaces, and its VLANs."""
    l2 = _Layer2(planner, row, dkey, site)
    existing = planner.existing.get(dkey, {})
    for iface in row.get("interfaces", []):
        ikey = f"iface:{row['device']}|{iface['name']}"
        l2.interface(iface, ikey, existing.get(iface["name"]))
    for vid in sorted(l2.vlan_names):
        l2._vlan(vid)


def _after_run(iface: dict[str, Any], body: dict[str, Any], known: dict[str, int]) -> set[int]:
    """The VLANs ``iface`` uses once the planned update ``body`` (possibly empty) is made."""

    def resolve(value: Any) -> int | None:
        if isinstance(value, Ref):
            return known.get(value.key)
        return value if value is None or isinstance(value, int) else _id(value)

    untagged = (
        resolve(body["untagged_vlan"])
        if "untagged_vlan" in body
        else _id(iface.get("untagged_vlan"))
    )
    tagged = (
        {resolve(v) for v in body["tagged_vlans"]}
        if "tagged_vlans" in body
        else {_id(v) for v in iface.get("tagged_vlans") or []}
    )
    return {v for v in (untagged, _id(iface.get("qinq_svlan")), *tagged) if v is not None}


def prune_vlans(planner: _Planner, slug: str) -> None:
    """Plan deleting the VLANs tagged ``slug`` that nothing pushed uses. NetBox says which
    interfaces use each (``planner.s.vlan_users``); one still using it after this run (a
    NetBox-only device's, or one set by hand) keeps it, and the VLAN is reported as a conflict,
    since deleting it would silently unassign it there."""
    plan = planner.plan
    used = {v for k, v in plan.known.items() if k.startswith("ipam/vlans:")}
    gone = {i.id for i in plan.step("interface", "delete", "dcim/interfaces").items}
    gone_devices = {i.id for i in plan.step("device", "delete", "dcim/devices").items}
    bodies: dict[int, dict[str, Any]] = {}
    for step in plan.steps:
        if (step.action, step.endpoint) == ("update", "dcim/interfaces"):
            for item in step.items:
                if item.id is not None:
                    bodies.setdefault(item.id, {}).update(item.body)
    for vlan in planner.s.tagged_vlans():
        vid = int(vlan["id"])
        if slug not in {t.get("slug") for t in vlan.get("tags", [])} or vid in used:
            continue
        users = sorted(
            f"{(i.get('device') or {}).get('display')} {i.get('name')}"
            for i in planner.s.vlan_users.get(vid, [])
            if int(i["id"]) not in gone
            and _id(i.get("device")) not in gone_devices
            and vid in _after_run(i, bodies.get(int(i["id"]), {}), plan.known)
        )
        label = f"{vlan.get('name')} ({vlan.get('vid')})"
        if users:
            more = f" and {len(users) - _NAMED} more" if len(users) > _NAMED else ""
            plan.conflicts.append(
                Conflict(
                    "vlan",
                    label,
                    f"kept, not pruned: still used by {', '.join(users[:_NAMED])}{more}",
                )
            )
            continue
        plan.step("vlan", "delete", "ipam/vlans").items.append(
            Item(f"ipam/vlans:{vid}", str(vlan.get("display")), id=vid)
        )
