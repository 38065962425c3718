"""InfiniBand facts as a snapshot carries them: the fabric models of
:mod:`network_discovery.model.fabric`, each owned by the host the output was collected on.

The fabric-wide tools (``ibnetdiscover``, ``iblinkinfo``, ``perfquery``, ``ibqueryerrors``)
run on any host with an adapter on the fabric, often the subnet manager's: that host is the
scope entry that owns what they printed (``device``), under the fact kinds ``ib_nodes``,
``ib_ports``, ``ib_links`` and ``ib_counters``. A host's own ``ibstat``/``ibstatus`` is owned
by that host under ``ib_adapters``. A later snapshot from the same collecting host replaces
its view of the fabric; another host's view is left alone, and the graph merges the views of
one node or port (keyed by GUID) across collectors, the most recent collection first.
"""

from __future__ import annotations

from pydantic import Field

from network_discovery.model.fabric import (
    IBChannelAdapter,
    IBLink,
    IBNode,
    IBPort,
    IBPortCounters,
)
from network_discovery.model.fields import DeviceRef

__all__ = ["IBAdapterFact", "IBCountersFact", "IBLinkFact", "IBNodeFact", "IBPortFact"]

_COLLECTED_ON = "The host the output was collected on (the scope entry that owns the fact)."


class IBNodeFact(IBNode):
    """A fabric node as one collecting host's output showed it."""

    device: DeviceRef = Field(description=_COLLECTED_ON)

    @property
    def id(self) -> str:
        return f"{self.device}|{self.guid}"


class IBPortFact(IBPort):
    """A fabric port as one collecting host's output showed it."""

    device: DeviceRef = Field(description=_COLLECTED_ON)

    @property
    def id(self) -> str:
        return f"{self.device}|{self.port_guid}|{self.port}"


class IBLinkFact(IBLink):
    """A fabric cable as one collecting host's output showed it."""

    device: DeviceRef = Field(description=_COLLECTED_ON)

    @property
    def id(self) -> str:
        return f"{self.device}|{IBLink.id.fget(self)}"  # type: ignore[attr-defined]


class IBCountersFact(IBPortCounters):
    """A port's counters as one collecting host read them."""

    device: DeviceRef = Field(description=_COLLECTED_ON)

    @property
    def id(self) -> str:
        return f"{self.device}|{IBPortCounters.id.fget(self)}"  # type: ignore[attr-defined]


class IBAdapterFact(IBChannelAdapter):
    """A host's own channel adapter (``ibstat``/``ibstatus``); owned by that host."""

    device: DeviceRef = Field(description="The host the adapter is in (owns the fact).")
