"""What to discover: targets from a YAML inventory (its hosts, and NetBox's devices through
:mod:`.netbox_source`), an Ansible inventory, or seeds.

The YAML inventory (see ``docs/discovery.md``)::

    credentials:
      lab: {username: netops, password_env: LAB_SSH_PASSWORD}
    defaults: {credentials: lab, port: 22}
    hosts:
      core1: {address: 10.0.0.1, platform: arista_eos, role: core}

An Ansible inventory (INI or YAML) is recognised by its shape and read by
:mod:`network_discovery.discovery._ansible`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from network_discovery.discovery.credentials import (
    CredentialError,
    Credentials,
    credentials_from_mapping,
    unknown_key,
)
from network_discovery.parsers import PLATFORMS

if TYPE_CHECKING:
    from network_discovery.discovery.netbox_source import NetBoxSource

__all__ = [
    "META_KEYS",
    "Inventory",
    "InventoryError",
    "Target",
    "load_inventory",
    "parse_inventory",
]

Transport = Literal["ssh", "snmp"]
#: A GPU/InfiniBand host's part: ``host`` (its own adapters, counters and GPUs) or ``sweep``
#: (those, and the fabric-wide ibnetdiscover and iblinkinfo from it).
FabricRole = Literal["host", "sweep"]
#: Per-host keys copied onto the device record (like a meta.yaml of saved output).
META_KEYS = ("role", "site", "tenant", "rack", "criticality", "tags")
_HOST_KEYS = frozenset(
    {"address", "port", "platform", "transport", "credentials", "hostname", "fabric", *META_KEYS}
)


class InventoryError(ValueError):
    """An inventory that cannot be used; the message says where and what to fix."""


@dataclass(frozen=True)
class Target:
    """One device to collect from. ``name`` is None for a seed or a crawled address until the
    device tells its name."""

    address: str
    platform: str | None = None
    name: str | None = None
    port: int | None = None
    transport: Transport = "ssh"
    credentials: Credentials = field(default_factory=Credentials)
    meta: Mapping[str, Any] = field(default_factory=dict)
    hop: int = 0
    via: str | None = None
    #: The name a neighbour advertised for it (a crawled device), for messages only.
    seen_as: str | None = None
    #: A GPU/InfiniBand host, collected with the fabric tools (``discovery.fabric_hosts``).
    fabric: FabricRole | None = None
    #: A fabric host's management tools run through ``sudo -n`` (``fabric: {sudo: true}``).
    fabric_sudo: bool = False

    @property
    def label(self) -> str:
        return self.name or self.seen_as or self.address

    def at_hop(self, hop: int, via: str) -> Target:
        return replace(self, hop=hop, via=via)


@dataclass(frozen=True)
class Inventory:
    targets: tuple[Target, ...]
    source: str
    #: Hosts left out, and why (an Ansible inventory's servers, say).
    skipped: tuple[str, ...] = ()
    #: Devices still to read from NetBox (``resolve_inventory`` reads them in).
    netbox: NetBoxSource | None = None


def _address(value: Any, where: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        text = str(value).strip()
        if text and all(part.isalnum() or part in "-." for part in text):
            return text  # a DNS name
        raise InventoryError(f"{where}: {value!r} is not an IP address or host name") from None


def check_platform(platform: Any, where: str) -> str | None:
    if platform is None:
        return None
    if platform not in PLATFORMS:
        raise InventoryError(f"{where}: platform {platform!r} is not one of {', '.join(PLATFORMS)}")
    return str(platform)


def _port(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise InventoryError(f"{where}: port must be a number from 1 to 65535, not {value!r}")
    return port


def make_target(
    name: str,
    data: Mapping[str, Any],
    profiles: Mapping[str, Credentials],
    where: str,
    *,
    default_credentials: Credentials | None = None,
) -> Target:
    """A target from one host's settings (``address``, ``platform``, ``credentials``...)."""
    if message := unknown_key(data, _HOST_KEYS, where):
        raise InventoryError(message)
    transport = data.get("transport", "ssh")
    if transport not in ("ssh", "snmp"):
        raise InventoryError(f"{where}: transport must be ssh or snmp, not {transport!r}")
    profile_name = data.get("credentials")
    if profile_name is not None:
        if profile_name not in profiles:
            known = ", ".join(sorted(profiles)) or "none defined"
            raise InventoryError(
                f"{where}: credentials {profile_name!r} are not defined (defined: {known})"
            )
        creds = profiles[profile_name]
    else:
        creds = default_credentials or Credentials()
    fabric, fabric_sudo = _fabric_role(data.get("fabric"), where)
    if fabric is not None:
        if transport != "ssh":
            raise InventoryError(f"{where}: a fabric host is collected over SSH, not {transport}")
        data = {"platform": "linux", **data}
        if data["platform"] != "linux":
            raise InventoryError(f"{where}: a fabric host's platform is linux")
    platform = check_platform(data.get("platform"), where)
    if transport == "ssh" and platform is None:
        raise InventoryError(f"{where}: platform is required for SSH ({', '.join(PLATFORMS)})")
    return Target(
        address=_address(data.get("address") or name, f"{where}.address"),
        platform=platform,
        name=str(data.get("hostname") or name),
        port=_port(data.get("port"), f"{where}.port"),
        transport=transport,
        credentials=creds,
        meta={k: data[k] for k in META_KEYS if data.get(k) is not None},
        fabric=fabric,
        fabric_sudo=fabric_sudo,
    )


def _fabric_role(value: Any, where: str) -> tuple[FabricRole | None, bool]:
    """A fabric host's role and whether its management tools run through sudo: ``fabric:
    true | host | sweep``, or ``fabric: {role: host | sweep, sudo: true | false}``."""
    sudo = False
    if isinstance(value, Mapping):
        if message := unknown_key(value, frozenset({"role", "sudo"}), f"{where}.fabric"):
            raise InventoryError(message)
        sudo = value.get("sudo", False)
        if not isinstance(sudo, bool):
            raise InventoryError(f"{where}.fabric.sudo: true or false, not {sudo!r}")
        value = value.get("role", "host")
        if value is None or value is False:
            raise InventoryError(f"{where}.fabric.role: host or sweep, not {value!r}")
    if value is None or value is False:
        return None, False
    if value is True or value == "host":
        return "host", sudo
    if value == "sweep":
        return "sweep", sudo
    raise InventoryError(f"{where}.fabric: true, host or sweep, not {value!r}")


def _yaml_inventory(doc: Mapping[str, Any], source: str) -> Inventory:
    known = ("credentials", "defaults", "hosts", "netbox")
    if message := unknown_key(doc, known, source, "top-level key"):
        raise InventoryError(message)
    raw_profiles = doc.get("credentials") or {}
    if not isinstance(raw_profiles, Mapping):
        raise InventoryError(f"{source}: credentials must be a mapping of profile names")
    try:
        profiles = {
            str(n): credentials_from_mapping(str(n), d, f"{source}: credentials.{n}")
            for n, d in raw_profiles.items()
        }
    except CredentialError as exc:
        raise InventoryError(str(exc)) from None
    defaults = doc.get("defaults") or {}
    hosts = doc.get("hosts")
    if not isinstance(defaults, Mapping):
        raise InventoryError(f"{source}: defaults must be a mapping")
    netbox = None
    if "netbox" in doc:
        from network_discovery.discovery.netbox_source import parse_netbox_source

        netbox = parse_netbox_source(doc["netbox"], profiles, defaults, f"{source}: netbox")
        hosts = hosts or {}
    if not isinstance(hosts, Mapping) or not (hosts or netbox):
        raise InventoryError(
            f"{source}: hosts must be a mapping of host names to settings (or give a netbox "
            "section)"
        )
    targets = []
    for name, settings in hosts.items():
        where = f"{source}: hosts.{name}"
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise InventoryError(f"{where}: expected a mapping of settings")
        clear = [k for k in settings if k in ("password", "community", "secret")]
        if clear:
            raise InventoryError(
                f"{where}: {clear[0]!r} is written in clear text, which is refused; define a "
                f"credentials profile with {clear[0]}_env or {clear[0]}_file and name it here"
            )
        targets.append(make_target(str(name), {**defaults, **settings}, profiles, where))
    return Inventory(tuple(targets), source, netbox=netbox)


def parse_inventory(text: str, source: str) -> Inventory:
    """An inventory from its text: our YAML format, or an Ansible inventory (INI or YAML)."""
    from network_discovery.discovery import _ansible

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, Mapping) and (isinstance(doc.get("hosts"), Mapping) or "netbox" in doc):
        return _yaml_inventory(doc, source)
    if isinstance(doc, Mapping) and _ansible.looks_like_yaml(doc):
        return _ansible.from_yaml(doc, source)
    if _ansible.looks_like_ini(text):
        return _ansible.from_ini(text, source)
    raise InventoryError(
        f"{source}: not an inventory: expected our YAML format (a 'hosts' mapping) or an "
        "Ansible inventory (INI groups, or YAML with 'all'/'children'/'hosts')"
    )


def load_inventory(path: str | Path) -> Inventory:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"cannot read {file}: {getattr(exc, 'strerror', exc)}") from None
    inventory = parse_inventory(text, str(file))
    names = [t.label for t in inventory.targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InventoryError(f"{file}: host {dupes[0]!r} is listed twice")
    return inventory
