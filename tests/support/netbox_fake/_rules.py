"""What NetBox 4.2 checks on a write beyond the schema, with its error wording."""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["UNIQUE", "assignment_errors", "drf_message", "interface_errors", "related_errors"]

#: collection -> field sets that must be unique, with the error NetBox gives.
UNIQUE: dict[str, list[tuple[tuple[str, ...], str, str]]] = {
    "extras/tags": [(("slug",), "slug", "tag with this slug already exists.")],
    "tenancy/tenants": [(("slug",), "slug", "tenant with this slug already exists.")],
    "dcim/sites": [
        (("name",), "name", "site with this name already exists."),
        (("slug",), "slug", "site with this slug already exists."),
    ],
    "dcim/device-roles": [(("slug",), "slug", "device role with this slug already exists.")],
    "dcim/manufacturers": [(("slug",), "slug", "manufacturer with this slug already exists.")],
    "dcim/platforms": [(("slug",), "slug", "platform with this slug already exists.")],
    "dcim/device-types": [
        (
            ("manufacturer", "model"),
            "non_field_errors",
            "Device type with this Manufacturer and Model already exists.",
        ),
    ],
    "dcim/devices": [
        (("site", "tenant", "name"), "non_field_errors", "Device name must be unique per site."),
    ],
    "dcim/interfaces": [
        (("device", "name"), "non_field_errors", "The fields device, name must make a unique set."),
    ],
}


def drf_message(keyword: str, message: str, schema_value: Any = None) -> str:
    """A jsonschema violation worded the way Django REST framework words it."""
    if keyword == "required":
        return "This field is required."
    if keyword == "maxLength":
        return f"Ensure this field has no more than {schema_value} characters."
    if keyword == "minLength":
        return "This field may not be blank."
    if keyword == "enum":
        return f"{message.split(' is not one of')[0]} is not a valid choice."
    if keyword == "type" and "'integer'" in message:
        return "A valid integer is required."
    return message


def related_errors(store: Any, collection: str, item: dict[str, Any]) -> dict[str, list[str]]:
    """Foreign keys that name no object, and NetBox's model checks (assignments, addresses)."""
    errors: dict[str, list[str]] = {}
    for field, target in store.fks[collection].items():
        value = item.get(field)
        if isinstance(value, int) and value not in store.objects[target]:
            errors[field] = [f"Related object not found using the provided numeric ID: {value}"]
    if collection == "dcim/interfaces":
        missing = [v for v in item.get("tagged_vlans", []) if v not in store.objects["ipam/vlans"]]
        if missing:
            errors["tagged_vlans"] = [f'Invalid pk "{missing[0]}" - object does not exist.']
    for tag in item.get("tags", []):
        if not store.find("extras/tags", slug=tag.get("slug")):
            errors["tags"] = [f"Related object not found using the provided attributes: {tag}"]
    if item.get("assigned_object_type") is not None:
        if item["assigned_object_type"] != "dcim.interface":
            errors["assigned_object_type"] = ["This fake assigns to interfaces only."]
        elif item.get("assigned_object_id") not in store.objects["dcim/interfaces"]:
            errors["assigned_object_id"] = ["Related object not found."]
    if collection == "ipam/ip-addresses" and "address" in item:
        try:
            ipaddress.ip_interface(item["address"])
            if "/" not in item["address"]:
                raise ValueError
        except ValueError:
            errors["address"] = ["Enter a valid IPv4 or IPv6 address with mask."]
    return errors


def assignment_errors(
    store: Any, collection: str, obj: dict[str, Any], original: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    """A device's primary IP must sit on one of its interfaces; an interface's primary MAC on
    it; and (``original``: the object before this update) neither may leave its place while
    it is primary (NetBox 4.2's IPAddress.clean and MACAddress.clean)."""
    errors: dict[str, list[str]] = {}
    objects = store.objects
    was = (original or {}).get("assigned_object_id")
    moved = was is not None and obj.get("assigned_object_id") != was
    if collection == "dcim/mac-addresses" and moved:
        iface = objects["dcim/interfaces"].get(was) or {}
        if iface.get("primary_mac_address") == obj["id"]:
            verb = "unassign" if obj.get("assigned_object_id") is None else "reassign"
            errors["__all__"] = [
                f"Cannot {verb} MAC Address while it is designated as the primary MAC for an object"
            ]
    if collection == "ipam/ip-addresses" and moved:
        before = (objects["dcim/interfaces"].get(was) or {}).get("device")
        now = (objects["dcim/interfaces"].get(obj.get("assigned_object_id") or -1) or {}).get(
            "device"
        )
        field = "primary_ip6" if ":" in str(obj.get("address")) else "primary_ip4"
        primary = (objects["dcim/devices"].get(before) or {}).get(field) == obj["id"]
        if primary and before != now:
            errors["__all__"] = [
                "Cannot reassign IP address while it is designated as the primary IP for the "
                "parent object"
            ]
    if collection == "dcim/devices":
        for field in ("primary_ip4", "primary_ip6"):
            ip = store.objects["ipam/ip-addresses"].get(obj.get(field) or -1)
            if obj.get(field) is None or ip is None:
                continue
            iface = store.objects["dcim/interfaces"].get(ip.get("assigned_object_id") or -1)
            if iface is None or iface.get("device") != obj["id"]:
                errors[field] = [
                    f"The specified IP address ({ip['address']}) is not assigned to this device."
                ]
    if collection == "dcim/interfaces" and obj.get("primary_mac_address") is not None:
        mac = store.objects["dcim/mac-addresses"].get(obj["primary_mac_address"])
        if mac is None or mac.get("assigned_object_id") != obj["id"]:
            errors["primary_mac_address"] = ["MAC address is not assigned to this interface."]
    return errors


def interface_errors(store: Any, obj: dict[str, Any]) -> dict[str, list[str]]:
    """An interface as it would be saved: NetBox's serializer (802.1Q mode and VLANs) and
    model checks (parent, LAG, the untagged VLAN's site), worded as NetBox 4.2 words them."""
    errors: dict[str, list[str]] = {}
    objects = store.objects
    mode, tagged = obj.get("mode") or None, obj.get("tagged_vlans") or []
    if not mode and obj.get("untagged_vlan"):
        errors["untagged_vlan"] = ["Interface mode does not support untagged vlan"]
    if tagged and mode in (None, "tagged-all", "access"):
        errors["tagged_vlans"] = ["Interface mode does not support tagged vlans"]
    if errors:
        return errors
    device = objects["dcim/devices"].get(obj.get("device") or -1) or {}
    for vid in tagged:
        vlan = objects["ipam/vlans"][vid]
        if vlan.get("site") not in (device.get("site"), None):
            return {
                "tagged_vlans": [
                    f"VLAN {vlan['name']} must belong to the same site as the interface's parent "
                    "device, or it must be global."
                ]
            }
    parent = objects["dcim/interfaces"].get(obj.get("parent") or -1)
    lag = objects["dcim/interfaces"].get(obj.get("lag") or -1)
    untagged = objects["ipam/vlans"].get(obj.get("untagged_vlan") or -1)
    if parent is not None and parent.get("id") == obj.get("id"):
        errors["parent"] = ["An interface cannot be its own parent."]
    elif parent is not None and obj.get("type") != "virtual":
        errors["parent"] = ["Only virtual interfaces may be assigned to a parent interface."]
    elif parent is not None and parent["device"] != obj.get("device"):
        other = objects["dcim/devices"].get(parent["device"], {}).get("name")
        errors["parent"] = [
            f"The selected parent interface ({parent['name']}) belongs to a different device "
            f"({other})"
        ]
    elif lag is not None and obj.get("type") == "virtual":
        errors["lag"] = ["Virtual interfaces cannot have a parent LAG interface."]
    elif lag is not None and lag.get("id") == obj.get("id"):
        errors["lag"] = ["A LAG interface cannot be its own parent."]
    elif lag is not None and lag["device"] != obj.get("device"):
        other = objects["dcim/devices"].get(lag["device"], {}).get("name")
        errors["lag"] = [
            f"The selected LAG interface ({lag['name']}) belongs to a different device ({other})."
        ]
    elif untagged is not None and untagged.get("site") not in (device.get("site"), None):
        errors["untagged_vlan"] = [
            f"The untagged VLAN ({untagged['name']}) must belong to the same site as the "
            "interface's parent device, or it must be global."
        ]
    return errors
