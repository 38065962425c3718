"""What NetBox 4.2 checks on a write beyond the schema, with its error wording."""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["UNIQUE", "drf_message", "related_errors"]

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


def assignment_errors(store: Any, collection: str, obj: dict[str, Any]) -> dict[str, list[str]]:
    """A device's primary IP must sit on one of its interfaces; an interface's primary MAC on it."""
    errors: dict[str, list[str]] = {}
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
