"""A Linux host's netfilter chains, consulted in the kernel's order, with NAT applied.

A packet the host forwards meets raw PREROUTING, mangle PREROUTING, nat PREROUTING (DNAT:
the destination changes before the route lookup), then mangle FORWARD, filter FORWARD,
mangle POSTROUTING and nat POSTROUTING (SNAT, MASQUERADE: the source changes for the rest of
the path). A packet to the host meets the PREROUTING chains, then mangle INPUT, filter INPUT
and nat INPUT; one the host sends meets raw, mangle and nat OUTPUT, then filter OUTPUT and
the POSTROUTING chains. Each chain is a rule set (its built-in chain, user chains inlined):
ACCEPT ends that chain only, a drop anywhere ends the packet. In a nat chain the first
matching rule decides the translation; an ACCEPT there, or the policy, translates nothing.

The walk (``path``) runs the stage before routing (:data:`PREROUTING` or :data:`OUTPUT_PRE`)
ahead of the route lookup, so a DNAT changes the route taken, and the rest once the egress
interface is known (:func:`after_routing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from network_discovery.model import NatAction, NatKind

from meshq_graph_engine.firewall._intervals import encode_address
from meshq_graph_engine.firewall.policy import PORTED, Decision, Flow, make_flow

if TYPE_CHECKING:
    from meshq_graph_engine.firewall.topology import DevicePolicy

__all__ = [
    "FORWARD",
    "INPUT",
    "LOOPBACK",
    "OUTPUT_POST",
    "OUTPUT_PRE",
    "POSTROUTING",
    "PREROUTING",
    "Outcome",
    "Packet",
    "after_routing",
    "packet",
    "run",
]

Stage = tuple[tuple[str, str], ...]

#: Before the route lookup, for a packet that arrived from the network.
PREROUTING: Stage = (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("nat", "PREROUTING"))
#: Before the (re-)route of a packet the host sends itself.
OUTPUT_PRE: Stage = (("raw", "OUTPUT"), ("mangle", "OUTPUT"), ("nat", "OUTPUT"))
FORWARD: Stage = (("mangle", "FORWARD"), ("filter", "FORWARD"))
INPUT: Stage = (("mangle", "INPUT"), ("filter", "INPUT"), ("nat", "INPUT"))
OUTPUT_POST: Stage = (("filter", "OUTPUT"),)
POSTROUTING: Stage = (("mangle", "POSTROUTING"), ("nat", "POSTROUTING"))
#: Sent by the host to itself: out through OUTPUT and POSTROUTING, back in through
#: PREROUTING and INPUT (the nat table is not asked again: the connection's NAT is set).
LOOPBACK: Stage = (
    *OUTPUT_POST,
    *POSTROUTING,
    ("raw", "PREROUTING"),
    ("mangle", "PREROUTING"),
    ("mangle", "INPUT"),
    ("filter", "INPUT"),
)


def after_routing(*, to_self: bool, from_self: bool) -> Stage:
    """The chains met once the route is known."""
    if to_self and from_self:
        return LOOPBACK
    if to_self:
        return INPUT
    if from_self:
        return (*OUTPUT_POST, *POSTROUTING)
    return (*FORWARD, *POSTROUTING)


@dataclass(frozen=True, slots=True)
class Packet:
    """The flow as it travels: addresses and ports change where NAT applies."""

    src: str
    dst: str
    proto: int
    sport: int | None = None
    dport: int | None = None

    @classmethod
    def of(cls, flow: Flow, src: str, dst: str) -> Packet:
        return cls(src, dst, flow.proto, flow.sport, flow.dport)

    @property
    def family(self) -> int:
        return 6 if ":" in self.dst else 4

    def flow(self, src_zone: str | None = None, dst_zone: str | None = None) -> Flow:
        return Flow(
            encode_address(self.src),
            encode_address(self.dst),
            self.proto,
            self.sport,
            self.dport,
            src_zone,
            dst_zone,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.src,
            "destination": self.dst,
            "source_port": self.sport,
            "destination_port": self.dport,
        }


def packet(
    source: str,
    destination: str,
    protocol: str | int,
    port: int | None = None,
    *,
    source_port: int | None = None,
) -> Packet:
    """A packet from text (validated as :func:`make_flow` validates a flow)."""
    return Packet.of(
        make_flow(source, destination, protocol, port, source_port=source_port),
        source,
        destination,
    )


@dataclass
class Outcome:
    """What a stage did: each chain's decision, the translations, the packet after them."""

    packet: Packet
    decisions: list[Decision] = field(default_factory=list)
    translations: list[dict[str, Any]] = field(default_factory=list)
    #: REDIRECT: the packet is now for the host itself
    redirected: bool = False

    @property
    def denied(self) -> bool:
        return bool(self.decisions) and not self.decisions[-1].allowed


def _translate(
    nat: NatAction, before: Packet, *, egress_address: str | None, local_address: str | None
) -> Packet:
    port = nat.ports.lo if nat.ports is not None else None
    ported = before.proto in PORTED
    if nat.kind is NatKind.DNAT:
        return replace(
            before,
            dst=nat.address or before.dst,
            dport=port if port is not None and ported else before.dport,
        )
    if nat.kind is NatKind.REDIRECT:
        return replace(
            before,
            dst=local_address or before.dst,
            dport=port if port is not None and ported else before.dport,
        )
    source = nat.address if nat.kind is NatKind.SNAT else egress_address
    return replace(
        before,
        src=source or before.src,
        sport=port if port is not None and ported else before.sport,
    )


def run(
    policy: DevicePolicy,
    stage: Sequence[tuple[str, str]],
    start: Packet,
    *,
    ingress: str | None,
    egress: str | None,
    egress_address: str | None = None,
    local_address: str | None = None,
) -> Outcome:
    """Consult the host's chains of ``stage`` in order; stop at the first drop.

    ``egress_address`` is the address MASQUERADE takes (the egress interface's),
    ``local_address`` the one REDIRECT sends to (the ingress interface's)."""
    out = Outcome(start)
    zones = (policy.zone_of(ingress), policy.zone_of(egress))
    for table, hook in stage:
        for binding in policy.chains(table, hook, start.family):
            decision = binding.rule_set.evaluate(out.packet.flow(*zones))
            out.decisions.append(decision)
            if not decision.allowed:
                return out
            rule = decision.rule
            if rule is None or rule.nat is None:
                continue
            nat = rule.nat
            after = _translate(
                nat, out.packet, egress_address=egress_address, local_address=local_address
            )
            out.redirected = out.redirected or nat.kind is NatKind.REDIRECT
            out.translations.append(
                {
                    "device": policy.device,
                    "rule_set": rule.rule_set,
                    "position": rule.position,
                    "name": rule.name,
                    "kind": str(nat.kind),
                    "text": rule.text,
                    "before": out.packet.describe(),
                    "after": after.describe(),
                }
            )
            out.packet = after
    return out
