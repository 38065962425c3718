"""Which ``Device`` of the graph a host name of the fabric names: an adapter's host (its node
description, its ``ibstat``), a GPU's host, an NCCL rank's host.

Names are compared case-insensitively and without a trailing dot. A name that is a device's
id is that device. Otherwise the name's first label is compared with the devices' first
labels (``gpu-0101`` names ``gpu-0101.cluster.example``; ``GPU-0101.cluster.example`` names
``gpu-0101``); where both names carry a domain, the domains must agree
(``gpu-0101.a.example`` never names ``gpu-0101.b.example``). When more than one device fits,
none is chosen: the match is ambiguous, and the devices that fit are kept so that the graph
can say so.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from network_discovery.model import normalise_hostname

__all__ = ["HostIndex", "HostMatch"]

#: Devices named in an ambiguity, at most (the rest are counted in the row, not listed).
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class HostMatch:
    """The device a host name names, or, when several could, none and those several."""

    device: str | None
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.device is None and len(self.candidates) > 1


_NONE = HostMatch(None)


def _split(name: str) -> tuple[str, str]:
    """(first label, domain) of a normalised name; an IP address is all first label."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        short, _, domain = name.partition(".")
        return short, domain
    return name, ""


class HostIndex:
    """The graph's devices by normalised name and by first label."""

    def __init__(self, devices: Iterable[str]) -> None:
        self._ids: dict[str, str] = {}
        self._short: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for device in devices:
            try:
                name = normalise_hostname(device)
            except ValueError:
                continue
            self._ids.setdefault(name, device)
            short, domain = _split(name)
            self._short[short].append((domain, device))
        self._cache: dict[str, HostMatch] = {}

    def match(self, host: str | None) -> HostMatch:
        """The device ``host`` names (see the module's rules)."""
        if not host:
            return _NONE
        found = self._cache.get(host)
        if found is None:
            found = self._cache[host] = self._match(host)
        return found

    def _match(self, host: str) -> HostMatch:
        try:
            name = normalise_hostname(host)
        except ValueError:
            return _NONE
        if name in self._ids:
            return HostMatch(self._ids[name])
        short, domain = _split(name)
        fits = sorted(
            {
                device
                for device_domain, device in self._short.get(short, ())
                if not domain or not device_domain or device_domain == domain
            }
        )
        if len(fits) == 1:
            return HostMatch(fits[0])
        return HostMatch(None, tuple(fits[:MAX_CANDIDATES]))
