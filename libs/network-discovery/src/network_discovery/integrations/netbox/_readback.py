"""Reading back what a POST may have created, after an answer that did not say (a timeout, a
502/503/504): by the sync's tag and each object's natural key (an interface is its device and
name, a MAC its interface and address, ...), with one list request per chunk of keys.

When NetBox holds several objects for one key (copies an older release made), the lowest id
is the one: the same object every time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from network_discovery.integrations.netbox._client import NetBoxClient, Recover

__all__ = ["NATURAL_KEYS", "natural_key", "read_back", "recoverer"]

_CHUNK = 50


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def _mac(value: Any) -> str:
    return str(value or "").upper().replace("-", ":")


def _ip(value: Any) -> str:
    try:
        return str(ipaddress.ip_interface(str(value)))
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class NaturalKey:
    """``filter`` narrows the read (given each distinct ``field`` value of the bodies sent);
    ``sent`` and ``held`` give the key of a body as sent and of an object as NetBox renders it.
    ``tagged``: created objects carry the sync's tag, so the read asks for it too."""

    filter: str
    field: str
    sent: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    held: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    tagged: bool = True


def _by_slug(tagged: bool = True) -> NaturalKey:
    return NaturalKey(
        "slug", "slug", lambda b: (b["slug"],), lambda o: (o.get("slug"),), tagged=tagged
    )


NATURAL_KEYS: dict[str, NaturalKey] = {
    "extras/tags": _by_slug(tagged=False),
    "dcim/sites": _by_slug(),
    "dcim/device-roles": _by_slug(),
    "dcim/manufacturers": _by_slug(),
    "dcim/platforms": _by_slug(),
    "dcim/device-types": NaturalKey(
        "manufacturer_id",
        "manufacturer",
        lambda b: (_id(b["manufacturer"]), str(b["model"]).lower()),
        lambda o: (_id(o.get("manufacturer")), str(o.get("model", "")).lower()),
    ),
    "dcim/devices": NaturalKey(
        "name",
        "name",
        lambda b: (str(b["name"]).lower(), _id(b.get("site"))),
        lambda o: (str(o.get("name") or "").lower(), _id(o.get("site"))),
    ),
    "ipam/vlans": NaturalKey(
        "site_id",
        "site",
        lambda b: (_id(b.get("site")), int(b["vid"])),
        lambda o: (_id(o.get("site")), int(o.get("vid") or 0)),
    ),
    "dcim/interfaces": NaturalKey(
        "device_id",
        "device",
        lambda b: (_id(b["device"]), b["name"]),
        lambda o: (_id(o.get("device")), o.get("name")),
    ),
    "dcim/mac-addresses": NaturalKey(
        "interface_id",
        "assigned_object_id",
        lambda b: (b.get("assigned_object_id"), _mac(b["mac_address"])),
        lambda o: (o.get("assigned_object_id"), _mac(o.get("mac_address"))),
    ),
    "ipam/ip-addresses": NaturalKey(
        "address",
        "address",
        lambda b: (_ip(b["address"]), b.get("assigned_object_id")),
        lambda o: (_ip(o.get("address")), o.get("assigned_object_id")),
    ),
}


def natural_key(endpoint: str, body: Mapping[str, Any]) -> tuple[Any, ...] | None:
    spec = NATURAL_KEYS.get(endpoint.strip("/"))
    return None if spec is None else spec.sent(body)


async def read_back(
    client: NetBoxClient, endpoint: str, bodies: list[dict[str, Any]], tag: str
) -> list[dict[str, Any] | None]:
    """For each body, the object NetBox holds under its natural key (and ``tag``), or None."""
    spec = NATURAL_KEYS[endpoint.strip("/")]
    values = sorted(
        {_id(b.get(spec.field)) for b in bodies if b.get(spec.field) is not None}, key=str
    )
    held: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(values), _CHUNK):
        filters: dict[str, Any] = {spec.filter: values[start : start + _CHUNK]}
        if spec.tagged and tag:
            filters["tag"] = tag
        for obj in await client.list(endpoint, **filters):
            key = spec.held(obj)
            if key not in held or int(obj["id"]) < int(held[key]["id"]):
                held[key] = obj
    return [held.get(spec.sent(b)) for b in bodies]


def recoverer(client: NetBoxClient, endpoint: str, tag: str) -> Recover | None:
    """The ``recover`` of a create on ``endpoint``; None where no natural key is known (then
    an unclear answer stops the run rather than risk a second copy)."""
    if endpoint.strip("/") not in NATURAL_KEYS:
        return None

    async def recover(bodies: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        return await read_back(client, endpoint, bodies, tag)

    return recover
