"""Endpoint addresses by IP, for path analysis: hundreds of thousands of endpoints read whole
as columns (:class:`EndpointTable`), with the endpoints that changed since kept beside them
(:class:`Endpoints`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EndpointAddress", "EndpointTable", "Endpoints", "endpoint_order"]


@dataclass(frozen=True, slots=True)
class EndpointAddress:
    ip: str
    mac: str
    device: str | None = None
    interface: str | None = None


def endpoint_order(e: EndpointAddress) -> tuple[str, str, str, str]:
    return (e.ip, e.mac, e.device or "", e.interface or "")


@dataclass(frozen=True)
class EndpointTable:
    """Endpoints as columns (row ``n``: ``macs[n]``, ``devices[n]``, ``interfaces[n]``) with
    the row holding each address: hundreds of thousands of endpoints kept without an object
    for each; an address held by several endpoints is in ``more`` with all their rows."""

    macs: Sequence[Any]
    devices: Sequence[Any]
    interfaces: Sequence[Any]
    first: dict[str, int]
    more: dict[str, list[int]] = field(default_factory=dict)

    def rows(self, ip: str) -> Sequence[int]:
        found = self.more.get(ip)
        if found is not None:
            return found
        row = self.first.get(ip)
        return () if row is None else (row,)

    def at(self, ip: str, row: int) -> EndpointAddress:
        return EndpointAddress(
            ip, _text(self.macs[row]), _text(self.devices[row]), _text(self.interfaces[row])
        )


def _text(value: Any) -> Any:
    """A column's value as Python (Arrow columns give scalars)."""
    as_py = getattr(value, "as_py", None)
    return as_py() if as_py is not None else value


class Endpoints(Mapping[str, list[EndpointAddress]]):
    """Endpoint addresses by IP, each address's list in one order (endpoint_order):
    a table read whole (:class:`EndpointTable`), less the endpoints replaced since, plus their
    addresses now."""

    def __init__(self, table: EndpointTable | None = None) -> None:
        self._table = table
        #: MACs whose rows in the table no longer hold
        self._replaced: set[str] = set()
        self._extra: dict[str, list[EndpointAddress]] = {}

    def get(self, ip: str, default: Any = None) -> Any:
        found: list[EndpointAddress] = []
        table = self._table
        if table is not None:
            for row in table.rows(ip):
                e = table.at(ip, row)
                if e.mac not in self._replaced:
                    found.append(e)
        extra = self._extra.get(ip)
        if extra:
            found += extra
        if not found:
            return default
        if len(found) > 1:
            found.sort(key=endpoint_order)
        return found

    def __getitem__(self, ip: str) -> list[EndpointAddress]:
        found: list[EndpointAddress] | None = self.get(ip)
        if found is None:
            raise KeyError(ip)
        return found

    def __iter__(self) -> Iterator[str]:
        keys = set(self._extra)
        if self._table is not None:
            keys.update(self._table.first)
        return iter(sorted(k for k in keys if self.get(k) is not None))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def replace(self, macs: Iterable[str], endpoints: Iterable[EndpointAddress]) -> None:
        """Drop the addresses of the endpoints ``macs`` and add ``endpoints`` (theirs now)."""
        gone = set(macs)
        if gone:
            self._replaced |= gone
            for ip in [
                ip for ip, found in self._extra.items() if any(e.mac in gone for e in found)
            ]:
                kept = [e for e in self._extra[ip] if e.mac not in gone]
                if kept:
                    self._extra[ip] = kept
                else:
                    del self._extra[ip]
        for e in endpoints:
            self._extra.setdefault(e.ip, []).append(e)
