"""NetBox as an inventory source: the devices with a primary IP, filtered by NetBox itself.

Written in the YAML inventory as a ``netbox`` section (see ``docs/discovery.md``)::

    credentials:
      lab: {username: netops, password_env: LAB_SSH_PASSWORD}
    netbox:
      filters: {site: [hq], role: [core, access], tag: [discover], status: [active]}
      credentials: lab
      platforms: {eos-4: arista_eos}     # NetBox platform slug -> ours, beyond the built-in map

NetBox is reached at ``NETBOX_URL`` with ``NETBOX_TOKEN`` (never written in the file). The
filters travel as NetBox query parameters only, with ``has_primary_ip=true``. A device's
platform comes from its NetBox platform slug; a slug we do not know leaves the device with that
platform, so SSH reports it ``unsupported_platform`` without dialling it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from network_discovery.discovery.credentials import Credentials, unknown_key
from network_discovery.discovery.inventory import (
    Inventory,
    InventoryError,
    Target,
    Transport,
    check_platform,
)
from network_discovery.model.platforms import NETBOX_PLATFORMS
from network_discovery.parsers import PLATFORMS

__all__ = [
    "FILTERS",
    "NETBOX_PLATFORMS",
    "NetBoxSource",
    "netbox_targets",
    "parse_netbox_source",
    "resolve_inventory",
]

#: The NetBox device filters a ``netbox`` section may set (each one value or a list).
FILTERS = ("site", "role", "tag", "status", "tenant")
_KEYS = frozenset({"filters", "credentials", "platforms", "transport", "port"})


@dataclass(frozen=True)
class NetBoxSource:
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)
    platforms: Mapping[str, str] = field(default_factory=dict)
    transport: Transport = "ssh"
    port: int | None = None


def _slug(value: str) -> str:
    return value.strip().lower().replace("_", "-")


def _values(name: str, raw: Any, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
            raise InventoryError(f"{where}.filters.{name}: expected a name or a list of names")
        out.append(str(item).strip())
    if not out:
        raise InventoryError(f"{where}.filters.{name}: give at least one value")
    return tuple(out)


def parse_netbox_source(
    data: Any,
    profiles: Mapping[str, Credentials],
    defaults: Mapping[str, Any],
    where: str,
) -> NetBoxSource:
    """The ``netbox`` section of a YAML inventory; ``defaults`` are the inventory's."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InventoryError(f"{where}: expected a mapping (filters, credentials, platforms...)")
    for key in data:
        if key in ("url", "token", "token_env", "token_file"):
            raise InventoryError(
                f"{where}: {key!r} is not read from the inventory; set NETBOX_URL and NETBOX_TOKEN"
            )
    if message := unknown_key(data, _KEYS, where):
        raise InventoryError(message)
    filters = data.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise InventoryError(f"{where}.filters: expected a mapping of filter names to values")
    if message := unknown_key(filters, FILTERS, f"{where}.filters", "filter"):
        raise InventoryError(message)
    platforms = data.get("platforms") or {}
    if not isinstance(platforms, Mapping):
        raise InventoryError(f"{where}.platforms: expected NetBox slug: platform pairs")
    for slug, ours in platforms.items():
        check_platform(ours, f"{where}.platforms.{slug}")
    profile = data.get("credentials", defaults.get("credentials"))
    if profile is not None and profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none defined"
        raise InventoryError(f"{where}: credentials {profile!r} are not defined (defined: {known})")
    transport = data.get("transport", defaults.get("transport", "ssh"))
    if transport not in ("ssh", "snmp"):
        raise InventoryError(f"{where}: transport must be ssh or snmp, not {transport!r}")
    port = data.get("port", defaults.get("port"))
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise InventoryError(f"{where}.port: expected a number from 1 to 65535, not {port!r}")
    if port is not None and not 1 <= port <= 65535:
        raise InventoryError(f"{where}.port: expected a number from 1 to 65535, not {port!r}")
    return NetBoxSource(
        filters={str(k): _values(str(k), v, where) for k, v in filters.items()},
        credentials=profiles[profile] if profile is not None else Credentials(),
        platforms={_slug(str(k)): str(v) for k, v in platforms.items()},
        transport=transport,
        port=port,
    )


def _name(obj: Any) -> str | None:
    return obj.get("name") or None if isinstance(obj, Mapping) else None


def _platform(device: Mapping[str, Any], source: NetBoxSource) -> str | None:
    slug = (device.get("platform") or {}).get("slug")
    if not slug:
        return None
    key = _slug(str(slug))
    mapped = source.platforms.get(key) or NETBOX_PLATFORMS.get(key)
    if mapped is None and key.replace("-", "_") in PLATFORMS:
        mapped = key.replace("-", "_")
    if mapped is not None:
        return mapped
    # SSH reports an unknown platform as unsupported; SNMP guesses it from sysDescr
    return str(slug) if source.transport == "ssh" else None


def _target(device: Mapping[str, Any], source: NetBoxSource) -> Target | None:
    primary = device.get("primary_ip") or device.get("primary_ip4") or device.get("primary_ip6")
    try:
        address = str(ipaddress.ip_interface(str((primary or {})["address"])).ip)
    except (KeyError, TypeError, ValueError):
        return None
    role = _name(device.get("role"))
    meta: dict[str, Any] = {
        "site": _name(device.get("site")),
        "tenant": _name(device.get("tenant")),
        "rack": _name(device.get("rack")),
        "role": "_".join(role.lower().split()) if role else None,
        "tags": tuple(t["slug"] for t in device.get("tags") or [] if t.get("slug")) or None,
    }
    return Target(
        address=address,
        platform=_platform(device, source),
        name=device.get("name") or None,
        port=source.port,
        transport=source.transport,
        credentials=source.credentials,
        meta={k: v for k, v in meta.items() if v is not None},
    )


async def netbox_targets(source: NetBoxSource, client: Any) -> tuple[list[Target], list[str]]:
    """The source's devices as targets, and notes on the ones left out, from NetBox through
    ``client`` (a :class:`~network_discovery.integrations.netbox.NetBoxClient`)."""
    params: dict[str, Any] = {k: list(v) for k, v in source.filters.items()}
    params["has_primary_ip"] = "true"
    devices = await client.list("dcim/devices", **params)
    targets, skipped = [], []
    for device in devices:
        target = _target(device, source)
        if target is None:
            skipped.append(f"{device.get('name') or device.get('id')}: no usable primary IP")
        else:
            targets.append(target)
    return targets, skipped


async def resolve_inventory(
    inventory: Inventory, *, environ: Mapping[str, str] | None = None, transport: Any = None
) -> Inventory:
    """The inventory with its NetBox devices read in (a host the file lists by the same name or
    address wins). Raises :class:`InventoryError` when NetBox is not configured or refuses."""
    if inventory.netbox is None:
        return inventory
    from network_discovery.integrations.netbox import NetBoxClient, NetBoxError

    env = os.environ if environ is None else environ
    url, token = env.get("NETBOX_URL", "").strip(), env.get("NETBOX_TOKEN", "").strip()
    if not url or not token:
        raise InventoryError(
            f"{inventory.source}: the netbox section needs NETBOX_URL and NETBOX_TOKEN set"
        )
    try:
        async with NetBoxClient(url, token, max_retries=3, transport=transport) as client:
            found, skipped = await netbox_targets(inventory.netbox, client)
    except ValueError as exc:  # a URL without http(s)://
        raise InventoryError(str(exc)) from None
    except NetBoxError as exc:
        raise InventoryError(f"{inventory.source}: reading devices from NetBox: {exc}") from None
    names = {t.name for t in inventory.targets if t.name}
    addresses = {t.address for t in inventory.targets}
    added = [t for t in found if t.name not in names and t.address not in addresses]
    return replace(
        inventory,
        targets=(*inventory.targets, *added),
        skipped=(*inventory.skipped, *(f"netbox {note}" for note in skipped)),
        netbox=None,
    )
