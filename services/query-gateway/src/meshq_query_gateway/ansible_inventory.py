"""Build an Ansible inventory from the graph's devices (``all_devices`` rows), as
``GET /inventory/ansible`` serves it (and ``meshq-ansible-inventory`` prints it).

Groups: ``meshoptixiq`` (every collected device), ``vendor_<vendor>``, ``role_<role>``,
``site_<site>``, and by firewall presence ``firewalls`` (role ``firewall``) and
``non_firewalls``. Host variables: ``ansible_host`` (the management address),
``ansible_network_os`` (the collection's name for the platform, where Ansible has one; NetBox's
platform slug stands in only for a device discovery gave no platform),
``vendor``, ``model``, ``os_version``, ``role``, ``site``, ``platform``, ``tenant``, ``rack``
and ``serial_number``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from network_discovery.model import normalise_hostname
from network_discovery.model.platforms import NETBOX_PLATFORMS

__all__ = ["ALL_GROUP", "NETWORK_OS", "build_inventory", "group_name", "to_ini"]

log = structlog.get_logger(__name__)

ALL_GROUP = "meshoptixiq"
#: The product's platform names -> ``ansible_network_os`` (fully qualified collection names).
NETWORK_OS = {
    "cisco_ios": "cisco.ios.ios",
    "cisco_xe": "cisco.ios.ios",
    "cisco_nxos": "cisco.nxos.nxos",
    "cisco_xr": "cisco.iosxr.iosxr",
    "cisco_asa": "cisco.asa.asa",
    "arista_eos": "arista.eos.eos",
    "juniper_junos": "junipernetworks.junos.junos",
    "vyos": "vyos.vyos.vyos",
    "fortinet": "fortinet.fortios.fortios",
}
_VARS = ("vendor", "model", "os_version", "role", "site", "platform", "tenant", "rack")


def group_name(prefix: str, value: str) -> str:
    """A group name Ansible accepts as is: lower-case letters, digits and underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "unknown"
    return f"{prefix}_{slug}"


def _network_os(row: Mapping[str, Any]) -> str | None:
    """The device's own (discovered) platform decides; NetBox's platform slug is read only
    when discovery recorded no platform at all, mapped as a NetBox inventory source maps it
    (``nx-os``, ``cisco-nxos`` and ``cisco_nxos`` are all ``cisco_nxos``)."""
    if row.get("platform"):
        return NETWORK_OS.get(str(row["platform"]))
    slug = str(row.get("netbox_platform_slug") or "").strip().lower().replace("_", "-")
    if not slug:
        return None
    return NETWORK_OS.get(NETBOX_PLATFORMS.get(slug) or slug.replace("-", "_"))


def _hostvars(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.get("management_ip"):
        out["ansible_host"] = row["management_ip"]
    network_os = _network_os(row)
    if network_os:
        out["ansible_network_os"] = network_os
    for key in _VARS:
        if row.get(key) not in (None, ""):
            out[key] = row[key]
    if row.get("serial"):
        out["serial_number"] = row["serial"]  # "serial" is a play keyword Ansible reserves
    return out


def build_inventory(devices: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The dynamic-inventory JSON (``--list``): groups with ``hosts``, and ``_meta.hostvars``."""
    groups: dict[str, set[str]] = defaultdict(set)
    hostvars: dict[str, dict[str, Any]] = {}
    for row in devices:
        if row.get("managed") is False:
            continue
        host = str(row["device"])
        try:  # the model refuses such names; a graph written before it did may hold one
            normalise_hostname(host)
        except ValueError as exc:
            log.warning("ansible.host_skipped", reason=str(exc)[:200])
            continue
        hostvars[host] = _hostvars(row)
        groups[ALL_GROUP].add(host)
        for prefix in ("vendor", "role", "site"):
            if row.get(prefix):
                groups[group_name(prefix, str(row[prefix]))].add(host)
        groups["firewalls" if row.get("role") == "firewall" else "non_firewalls"].add(host)
    out: dict[str, Any] = {"all": {"children": sorted(groups)}}
    for name in sorted(groups):
        out[name] = {"hosts": sorted(groups[name])}
    out["_meta"] = {"hostvars": {h: hostvars[h] for h in sorted(hostvars)}}
    return out


def _ini_value(value: Any) -> str:
    """Ansible splits a host line like a shell, then reads each value as a Python literal:
    a Python string literal inside double quotes survives both, so 15.2 stays "15.2"."""
    return json.dumps(repr(str(value)))


def to_ini(inventory: Mapping[str, Any]) -> str:
    """The same inventory in Ansible's INI format: host variables on the ``meshoptixiq``
    group's lines, every other group listing its hosts."""
    hostvars = inventory.get("_meta", {}).get("hostvars", {})
    lines = ["# Ansible inventory from MeshOptixIQ", f"[{ALL_GROUP}]"]
    for host in inventory.get(ALL_GROUP, {}).get("hosts", []):
        pairs = " ".join(f"{k}={_ini_value(v)}" for k, v in hostvars.get(host, {}).items())
        lines.append(f"{host} {pairs}".rstrip())
    for name, group in inventory.items():
        if name in ("all", "_meta", ALL_GROUP):
            continue
        lines += ["", f"[{name}]", *group.get("hosts", [])]
    return "\n".join(lines) + "\n"
