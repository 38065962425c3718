"""What a push may write on an object: everything on what it created (it carries the sync's
tag), only empty fields on what it found, unless the field is named in ``--overwrite``. Every
disagreement on a found object is a drift entry, written or not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from network_discovery.integrations.netbox._plan import Drift, Plan

__all__ = ["OVERWRITABLE", "Ownership", "is_empty", "tag_slugs"]

#: the fields a push keeps equal to discovery, as NetBox names them: what ``--overwrite``
#: (``NETBOX_SYNC_OVERWRITE``) accepts
OVERWRITABLE = (
    "serial",
    "platform",
    "description",
    "mtu",
    "speed",
    "enabled",
    "mode",
    "untagged_vlan",
    "tagged_vlans",
    "lag",
    "parent",
    "primary_mac_address",
    "primary_ip4",
    "primary_ip6",
)


def tag_slugs(obj: dict[str, Any] | None) -> set[str]:
    return {str(t.get("slug")) for t in (obj or {}).get("tags") or [] if isinstance(t, dict)}


def is_empty(value: Any) -> bool:
    """Unset as NetBox shows it; a boolean is never empty."""
    return value is None or value == "" or value == [] or value == {}


class Ownership:
    def __init__(self, plan: Plan, tag_slug: str, overwrite: Iterable[str] = ()) -> None:
        self.plan = plan
        self.slug = tag_slug
        self.overwrite = frozenset(overwrite)
        unknown = self.overwrite - set(OVERWRITABLE)
        if unknown:
            raise ValueError(
                f"cannot overwrite {', '.join(sorted(unknown))}: the push writes "
                f"{', '.join(OVERWRITABLE)}"
            )

    def owned(self, obj: dict[str, Any] | None) -> bool:
        """None is an object this run creates."""
        return obj is None or self.slug in tag_slugs(obj)

    def may_write(
        self,
        obj: dict[str, Any] | None,
        kind: str,
        label: str,
        field: str,
        have: Any,
        shown: tuple[Any, Any] | None = None,
    ) -> bool:
        """Whether to replace ``have`` (NetBox's value, known to differ from discovery's) on
        ``obj``. ``shown`` is (NetBox's, discovery's) as a drift entry shows them."""
        if self.owned(obj) or is_empty(have):
            return True
        overwritten = field in self.overwrite
        netbox, discovered = shown if shown is not None else (have, None)
        self.plan.drift.append(Drift(kind, label, field, netbox, discovered, overwritten))
        return overwritten

    def disagree(
        self,
        kind: str,
        label: str,
        field: str,
        netbox: Any,
        discovered: Any,
        needs: tuple[str, ...],
    ) -> None:
        """A disagreement kept as NetBox has it because of another field's: replacing it
        takes ``--overwrite`` of all of ``needs``."""
        self.plan.drift.append(Drift(kind, label, field, netbox, discovered, needs=needs))
