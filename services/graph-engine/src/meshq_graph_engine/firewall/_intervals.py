"""Sets of integers as sorted, disjoint, inclusive ``(lo, hi)`` ranges.

Every match dimension of a firewall rule (zones, addresses, protocols, ports) is such a set:
addresses map onto one integer line (IPv4 first, then IPv6; see :func:`address_ranges`), so
CIDR containment, port ranges and "any" are all interval arithmetic.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from socket import AF_INET, inet_pton

__all__ = [
    "ANY_ADDRESS",
    "EMPTY",
    "V6_BASE",
    "Ranges",
    "address_ranges",
    "contains",
    "covers",
    "encode_address",
    "intersect",
    "merge",
    "subtract",
]

Ranges = tuple[tuple[int, int], ...]
EMPTY: Ranges = ()

#: IPv6 addresses sit above every IPv4 address on the one integer line.
V6_BASE = 1 << 32
ANY_V4: Ranges = ((0, V6_BASE - 1),)
ANY_V6: Ranges = ((V6_BASE, V6_BASE + (1 << 128) - 1),)
ANY_ADDRESS: Ranges = (*ANY_V4, *ANY_V6)


def merge(items: Iterable[tuple[int, int]]) -> Ranges:
    """Normalise ranges: sorted, overlapping and adjacent ones joined."""
    out: list[list[int]] = []
    for lo, hi in sorted(items):
        if lo > hi:
            raise ValueError(f"empty range {lo}-{hi}")
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: Ranges, b: Ranges) -> Ranges:
    """``a`` without ``b``."""
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in a:
        while j < len(b) and b[j][1] < lo:
            j += 1
        k = j
        cur = lo
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def covers(a: Ranges, b: Ranges) -> bool:
    """Whether ``b`` lies wholly inside ``a``."""
    return not subtract(b, a)


def contains(a: Ranges, value: int) -> bool:
    if len(a) == 1:
        return a[0][0] <= value <= a[0][1]
    i = bisect_right(a, (value, float("inf"))) - 1
    return i >= 0 and a[i][0] <= value <= a[i][1]


def encode_address(text: str) -> int:
    """A host address as a point on the one integer line."""
    address = ipaddress.ip_address(text)
    return int(address) + (V6_BASE if address.version == 6 else 0)


def _v4(text: str) -> tuple[int, int] | None:
    """An IPv4 address or ``address/length`` as its range, read without ``ipaddress`` (rule
    sets hold many thousands): the address by the C library's strict dotted-quad reader,
    which refuses what ``ipaddress`` refuses (leading zeros, short forms, octets past 255);
    None for anything else, which ``ipaddress`` reads (or refuses) instead."""
    address, slash, length = text.partition("/")
    try:
        value = int.from_bytes(inet_pton(AF_INET, address), "big")
    except (OSError, ValueError):
        return None
    bits = 32
    if slash:
        if not (length.isascii() and length.isdigit()) or len(length) > 2:
            return None
        bits = int(length)
        if bits > 32:
            return None
    host = (1 << (32 - bits)) - 1
    return (value & ~host, value | host)


def _one(item: str) -> tuple[int, int] | Ranges:
    text = item.strip().lower()
    if (fast := _v4(text)) is not None:
        return fast
    if text in ("any", "*", "all"):
        return ANY_ADDRESS
    if text == "any4":
        return ANY_V4
    if text == "any6":
        return ANY_V6
    if "-" in text and "/" not in text:
        first, last = (encode_address(p.strip()) for p in text.split("-", 1))
        if (first >= V6_BASE) != (last >= V6_BASE) or first > last:
            raise ValueError(f"invalid address range {item!r}")
        return (first, last)
    network = ipaddress.ip_network(text, strict=False)
    base = V6_BASE if network.version == 6 else 0
    return (int(network.network_address) + base, int(network.broadcast_address) + base)


def address_ranges(items: Iterable[str] | str | None) -> Ranges:
    """CIDRs, host addresses, ``a-b`` ranges or ``any`` as ranges; nothing given is any."""
    if items is None:
        return ANY_ADDRESS
    if isinstance(items, str):
        items = [items]
    pieces: list[tuple[int, int]] = []
    for item in items:
        got = _one(item)
        if isinstance(got[0], tuple):
            pieces.extend(got)
        else:
            pieces.append(got)
    if not pieces:
        return ANY_ADDRESS
    return merge(pieces)
