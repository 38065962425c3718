"""Push: discovered devices, interfaces, addresses, MACs, LAGs and VLANs into NetBox.

Matching is by name, then serial, then primary IP (see ``_match``). What a device needs and
NetBox lacks (site, role, manufacturer, device type, platform) is created, under configurable
defaults when discovery does not know it. What the push creates carries the sync's tag and is
kept equal to discovery; on what it found it fills empty fields only, unless the field is
named in ``overwrite``, and every disagreement there is a drift entry (``_owner``). Copies of
one MAC or address the sync made twice are collapsed into one (the one in use is kept).
Nothing else is deleted unless ``prune`` is set (``_prune``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from network_discovery.integrations.netbox._kinds import PLATFORM_NAMES, interface_type
from network_discovery.integrations.netbox._match import match_devices
from network_discovery.integrations.netbox._nbstate import NetBoxState
from network_discovery.integrations.netbox._owner import Ownership
from network_discovery.integrations.netbox._plan import Conflict, Item, Plan, Ref, slugify
from network_discovery.integrations.netbox._prune import plan_prune
from network_discovery.integrations.netbox._push_addr import (
    plan_address,
    plan_mac,
    plan_primary_ip,
)
from network_discovery.integrations.netbox._push_l2 import L2_STEP, plan_layer2
from network_discovery.model import canonical_interface_name

__all__ = ["PushDefaults", "plan_push"]

_IFACE = "dcim.interface"
#: Every push step, in the order a run executes them (what others refer to comes first).
STEP_ORDER: tuple[tuple[str, Any, str], ...] = (
    ("tag", "create", "extras/tags"),
    ("site", "create", "dcim/sites"),
    ("role", "create", "dcim/device-roles"),
    ("manufacturer", "create", "dcim/manufacturers"),
    ("device type", "create", "dcim/device-types"),
    ("platform", "create", "dcim/platforms"),
    ("device", "create", "dcim/devices"),
    ("device", "update", "dcim/devices"),
    ("vlan", "create", "ipam/vlans"),
    ("interface", "create", "dcim/interfaces"),
    ("interface", "update", "dcim/interfaces"),
    (L2_STEP, "update", "dcim/interfaces"),
    ("mac address", "create", "dcim/mac-addresses"),
    ("ip address", "create", "ipam/ip-addresses"),
    ("ip address", "update", "ipam/ip-addresses"),
    ("interface primary MAC", "update", "dcim/interfaces"),
    ("device primary IP", "update", "dcim/devices"),
    ("duplicate mac address", "delete", "dcim/mac-addresses"),
    ("duplicate ip address", "delete", "ipam/ip-addresses"),
    ("ip address", "unassign", "ipam/ip-addresses"),
    ("mac address", "unassign", "dcim/mac-addresses"),
    ("ip address", "delete", "ipam/ip-addresses"),
    ("mac address", "delete", "dcim/mac-addresses"),
    ("interface", "delete", "dcim/interfaces"),
    ("vlan", "delete", "ipam/vlans"),
    ("device", "delete", "dcim/devices"),
)


@dataclass(frozen=True)
class PushDefaults:
    tag: str = "meshoptixiq"
    site: str = "MeshOptixIQ discovered"
    role: str = "Discovered"
    manufacturer: str = "Unknown"
    device_type: str = "Unknown"


class _Planner:
    def __init__(
        self,
        state: NetBoxState,
        graph: list[dict[str, Any]],
        defaults: PushDefaults,
        prune: bool,
        overwrite: Iterable[str] = (),
    ) -> None:
        self.s, self.graph, self.d, self.prune = state, graph, defaults, prune
        self.plan = Plan("push", tag=slugify(defaults.tag))
        self.own = Ownership(self.plan, self.plan.tag, overwrite)
        self.tag = [{"name": defaults.tag, "slug": slugify(defaults.tag)}]
        self.tag_needed = False
        #: NetBox ids of the sync's own extra copies, planned for deletion
        self.collapsed: set[int] = set()
        #: device key -> its NetBox site (an id, or the site planned); its interfaces by name
        self.sites: dict[str, int | Ref] = {}
        self.existing: dict[str, dict[str, dict[str, Any]]] = {}
        self.vlans_planned: set[str] = set()
        self.plan.known.update(state.known())
        for kind, action, endpoint in STEP_ORDER:
            self.plan.step(kind, action, endpoint)

    # --- shared objects (site, role, manufacturer, device type, platform) ------------------

    def _lookup(self, key: str, kind: str, endpoint: str, body: dict[str, Any]) -> Ref:
        if key not in self.plan.known:
            step = self.plan.step(kind, "create", endpoint)
            if all(i.key != key for i in step.items):
                self.tag_needed = True
                step.items.append(
                    Item(
                        key, str(body.get("name") or body.get("model")), {**body, "tags": self.tag}
                    )
                )
        return Ref(key)

    def _named(self, collection: str, kind: str, name: str, **extra: Any) -> Ref:
        found = self.s.find_named(collection, name)
        key = f"{collection}:{slugify(name)}"
        if found is not None:
            self.plan.known[key] = int(found["id"])
        return self._lookup(key, kind, collection, {"name": name, "slug": slugify(name), **extra})

    def _device_type(self, vendor: str, model: str) -> Ref:
        maker = self._named("dcim/manufacturers", "manufacturer", vendor)
        key = f"dcim/device-types:{slugify(vendor)}/{slugify(model)}"
        found = self.s.find_device_type(self.plan.known.get(maker.key), model)
        if found is not None:
            self.plan.known[key] = int(found["id"])
        return self._lookup(
            key,
            "device type",
            "dcim/device-types",
            {"manufacturer": maker, "model": model, "slug": slugify(model)},
        )

    def _platform(self, platform: str) -> Ref:
        found = self.s.find_platform(platform)
        key = f"dcim/platforms:{slugify(platform)}"
        if found is not None:
            self.plan.known[key] = int(found["id"])
        name = PLATFORM_NAMES.get(platform, platform)
        return self._lookup(
            key, "platform", "dcim/platforms", {"name": name, "slug": platform.replace("_", "-")}
        )

    # --- devices ---------------------------------------------------------------------------

    def run(self) -> Plan:
        matches = match_devices(self.graph, self.s.devices)
        for device, reason in sorted(matches.ambiguous.items()):
            self.plan.conflicts.append(Conflict("device", device, reason))
        for row in self.graph:
            device = row["device"]
            if device in matches.ambiguous:
                continue
            nb = matches.found.get(device)
            key = f"device:{device}"
            if nb is None:
                self._create_device(row, key)
            else:
                self.plan.known[key] = int(nb["id"])
                self.sites[key] = int(nb["site"]["id"])
                self._update_device(row, nb, key)
            self._interfaces(row, key, nb)
            plan_layer2(self, row, key, self.sites[key])
        if self.prune:
            plan_prune(self, matches.netbox_ids())
        if self.tag_needed and "tag" not in self.plan.known:
            self.plan.step("tag", "create", "extras/tags").items.append(
                Item("tag", self.d.tag, dict(self.tag[0]))
            )
        return self.plan

    def _create_device(self, row: dict[str, Any], key: str) -> None:
        body: dict[str, Any] = {
            "name": row.get("hostname") or row["device"],
            "site": self._named(
                "dcim/sites", "site", row.get("site") or self.d.site, status="active"
            ),
            "role": self._named("dcim/device-roles", "role", row.get("role") or self.d.role),
            "device_type": self._device_type(
                row.get("vendor") or self.d.manufacturer,
                row.get("model_id") or row.get("model") or self.d.device_type,
            ),
            "status": "active",
            "tags": self.tag,
        }
        if row.get("serial"):
            body["serial"] = row["serial"]
        if row.get("platform"):
            body["platform"] = self._platform(row["platform"])
        self.sites[key] = body["site"]
        self.tag_needed = True
        self.plan.step("device", "create", "dcim/devices").items.append(
            Item(key, body["name"], body)
        )

    def _update_device(self, row: dict[str, Any], nb: dict[str, Any], key: str) -> None:
        body: dict[str, Any] = {}
        changes: dict[str, tuple[Any, Any]] = {}
        name = str(nb.get("name"))
        have_serial = nb.get("serial") or None
        serial = (have_serial, row.get("serial"))
        if (
            row.get("serial")
            and have_serial != row["serial"]
            and self.own.may_write(nb, "device", name, "serial", have_serial, serial)
        ):
            body["serial"] = row["serial"]
            changes["serial"] = (have_serial, row["serial"])
        if row.get("platform"):
            ref = self._platform(row["platform"])
            have = nb.get("platform") or None
            current = (have or {}).get("id")
            shown = ((have or {}).get("slug"), row["platform"])
            if (current is None or current != self.plan.known.get(ref.key)) and self.own.may_write(
                nb, "device", name, "platform", have, shown
            ):
                body["platform"] = ref
                changes["platform"] = shown
        if body:
            self.plan.step("device", "update", "dcim/devices").items.append(
                Item(key, name, body, changes, id=int(nb["id"]))
            )

    # --- interfaces, MACs, addresses -------------------------------------------------------

    def _interfaces(self, row: dict[str, Any], dkey: str, nb: dict[str, Any] | None) -> None:
        platform = row.get("platform")
        existing = {
            canonical_interface_name(i["name"], platform): i
            for i in (self.s.interfaces_of(int(nb["id"])) if nb else [])
        }
        self.existing[dkey] = existing
        for iface in row.get("interfaces", []):
            ikey = f"iface:{row['device']}|{iface['name']}"
            label = f"{row['device']} {iface['name']}"
            wanted: dict[str, Any] = {}
            if iface.get("description"):
                wanted["description"] = iface["description"][:200]
            if iface.get("mtu"):
                wanted["mtu"] = iface["mtu"]
            if iface.get("speed_mbps"):
                wanted["speed"] = iface["speed_mbps"] * 1000
            if iface.get("admin_status"):
                wanted["enabled"] = iface["admin_status"] == "up"
            current = existing.get(iface["name"])
            if current is None:
                body = {
                    "device": Ref(dkey),
                    "name": iface["name"],
                    "type": interface_type(iface["name"], iface.get("speed_mbps")),
                    **wanted,
                    "tags": self.tag,
                }
                self.tag_needed = True
                self.plan.step("interface", "create", "dcim/interfaces").items.append(
                    Item(ikey, label, body)
                )
            else:
                self.plan.known[ikey] = int(current["id"])
                changes = {
                    f: (current.get(f), v)
                    for f, v in wanted.items()
                    if current.get(f) != v
                    and self.own.may_write(
                        current, "interface", label, f, current.get(f), (current.get(f), v)
                    )
                }
                if changes:
                    self.plan.step("interface", "update", "dcim/interfaces").items.append(
                        Item(
                            ikey,
                            label,
                            {f: v for f, (_, v) in changes.items()},
                            changes,
                            id=int(current["id"]),
                        )
                    )
            plan_mac(self, row, iface, (ikey, label), current)
            for address in iface.get("addresses", []):
                plan_address(self, address, (ikey, label), current, nb)
        plan_primary_ip(self, row, dkey, nb)


def plan_push(
    state: NetBoxState,
    graph: list[dict[str, Any]],
    *,
    defaults: PushDefaults | None = None,
    prune: bool = False,
    overwrite: Iterable[str] = (),
) -> Plan:
    """The push plan; ``overwrite`` names the fields replaced on objects the sync did not
    create (others are filled only when empty)."""
    return _Planner(state, graph, defaults or PushDefaults(), prune, overwrite).run()
