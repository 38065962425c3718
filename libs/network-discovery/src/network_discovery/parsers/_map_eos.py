"""Row mappers for what Arista EOS prints beyond the shared mappers' rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from network_discovery.model import FactKind, canonical_interface_name
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._values import text

__all__ = ["map_eos_interfaces"]


def map_eos_interfaces(row: dict[str, Any], ctx: DeviceContext) -> Iterator[Partial]:
    """EOS ``show interfaces``: what :func:`~._map_inventory.map_interfaces_detail` reads,
    and the aggregate a member port is in (``Member of Port-Channel3``; JSON only, the text
    template skips that line)."""
    yield from inv.map_interfaces_detail(row, ctx)
    lag = text(row.get("lag"))
    if lag:
        name = canonical_interface_name(row["interface"], ctx.platform)
        fields = {"name": name, "lag": canonical_interface_name(lag, ctx.platform)}
        yield Partial(FactKind.INTERFACES, fields, key=name)
