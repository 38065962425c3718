"""Devices with primary IPs in the fake NetBox, as an administrator would have entered them."""

from __future__ import annotations

from typing import Any

from support.netbox_fake import FakeNetBox

__all__ = ["NetBoxLab"]


class NetBoxLab:
    """Sites, roles, platforms and tags made once on first use; ``device`` adds one device
    with an interface that holds its primary IP (when ``address`` is given)."""

    def __init__(self, netbox: FakeNetBox) -> None:
        self.netbox = netbox
        self.ids: dict[tuple[str, str], int] = {}
        maker = netbox.add("dcim/manufacturers", name="Generic", slug="generic")
        self.device_type = netbox.add(
            "dcim/device-types", manufacturer=maker["id"], model="Switch", slug="switch"
        )["id"]

    def _id(self, collection: str, name: str) -> int:
        key = (collection, name)
        if key not in self.ids:
            slug = name.lower().replace(" ", "-")
            extra: dict[str, Any] = {"status": "active"} if collection == "dcim/sites" else {}
            self.ids[key] = self.netbox.add(collection, name=name, slug=slug, **extra)["id"]
        return self.ids[key]

    def device(
        self,
        name: str,
        *,
        site: str = "HQ",
        role: str = "Access",
        platform: str | None = None,
        address: str | None = None,
        tags: tuple[str, ...] = (),
        status: str = "active",
    ) -> dict[str, Any]:
        for tag in tags:
            self._id("extras/tags", tag)
        device = self.netbox.add(
            "dcim/devices",
            name=name,
            site=self._id("dcim/sites", site),
            role=self._id("dcim/device-roles", role),
            device_type=self.device_type,
            platform=self._id("dcim/platforms", platform) if platform else None,
            status=status,
            tags=[t.lower().replace(" ", "-") for t in tags],
        )
        if address is not None:
            iface = self.netbox.add(
                "dcim/interfaces", device=device["id"], name="mgmt0", type="1000base-t"
            )
            ip = self.netbox.add(
                "ipam/ip-addresses",
                address=address,
                status="active",
                assigned_object_type="dcim.interface",
                assigned_object_id=iface["id"],
            )
            device["primary_ip4"] = ip["id"]
        return device
