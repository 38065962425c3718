"""Metadata patches: facts about a device that no collection run can see.

Site, tenant, rack, role, criticality and tags come from NetBox (a pull) or from a user
(``update_device_metadata``). They arrive as patches rather than snapshots, and the graph keeps
them across later snapshots of the same device. NetBox's platform is kept apart from the
device's own ``platform`` (which picks parsers): a pull records it as ``netbox_platform`` and
``netbox_platform_slug``, and the matched NetBox device as ``netbox_id``: fields only a NetBox
patch may set or clear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Self, get_args

from pydantic import AwareDatetime, Field, model_validator

from network_discovery.model.entities import Device
from network_discovery.model.fields import Criticality, DeviceRef, ModelBase, Tags, Text

__all__ = [
    "NETBOX_ONLY_FIELDS",
    "PATCHABLE_FIELDS",
    "MetadataPatch",
    "NetBoxField",
    "PatchField",
    "PatchSource",
]


class PatchSource(StrEnum):
    NETBOX = "netbox"
    USER = "user"


PatchField = Literal["site", "tenant", "rack", "role", "criticality", "tags"]
NetBoxField = Literal["netbox_id", "netbox_platform", "netbox_platform_slug"]
#: Fields only a NetBox patch sets or clears.
NETBOX_ONLY_FIELDS: tuple[str, ...] = get_args(NetBoxField)
#: The device fields a patch may change; everything else comes from collection only.
PATCHABLE_FIELDS: tuple[str, ...] = (*get_args(PatchField), *NETBOX_ONLY_FIELDS)


def _now() -> datetime:
    return datetime.now(UTC)


class MetadataPatch(ModelBase):
    """A change to one device's metadata.

    A field left out (or null) is not touched; a field named in ``clear`` is removed. Tags,
    when given, replace the device's tags as a whole.
    """

    hostname: DeviceRef = Field(description="The device to patch (its host name).")
    source: PatchSource
    time: AwareDatetime = Field(default_factory=_now, description="When the change was made.")
    actor: Text = Field(default=None, description="Who made it: a user, or the NetBox URL.")
    site: Text = None
    tenant: Text = None
    rack: Text = None
    role: Text = None
    criticality: Criticality | None = None
    tags: Tags | None = None
    netbox_id: int | None = Field(default=None, ge=1, description="NetBox's device id.")
    netbox_platform: Text = Field(default=None, description="NetBox's platform name.")
    netbox_platform_slug: Text = Field(default=None, description="NetBox's platform slug.")
    clear: tuple[PatchField | NetBoxField, ...] = Field(default=(), description="Fields to remove.")

    @model_validator(mode="after")
    def _check_changes(self) -> Self:
        if self.source is not PatchSource.NETBOX:
            named = [
                f for f in NETBOX_ONLY_FIELDS if getattr(self, f) is not None or f in self.clear
            ]
            if named:
                raise ValueError(
                    f"patch for {self.hostname}: {', '.join(named)} come from NetBox only"
                )
        both = sorted(f for f in self.clear if getattr(self, f) is not None)
        if both:
            raise ValueError(
                f"patch for {self.hostname}: {', '.join(both)} cannot be both set and cleared"
            )
        if not self.clear and all(getattr(self, f) is None for f in PATCHABLE_FIELDS):
            raise ValueError(
                f"patch for {self.hostname} changes nothing: set or clear at least one of "
                + ", ".join(get_args(PatchField))
            )
        return self

    @property
    def device_id(self) -> str:
        return self.hostname

    def changes(self) -> dict[str, Any]:
        """The device fields this patch sets, with ``None`` (or no tags) for cleared ones."""
        out: dict[str, Any] = {
            f: getattr(self, f) for f in PATCHABLE_FIELDS if getattr(self, f) is not None
        }
        for field in self.clear:
            out[field] = () if field == "tags" else None
        return out

    def apply(self, device: Device) -> Device:
        """The device with this patch applied (validated like any device)."""
        if device.id != self.device_id:
            raise ValueError(f"patch for {self.hostname} cannot apply to device {device.id}")
        return Device.model_validate({**device.model_dump(), **self.changes()})
