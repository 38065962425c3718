"""The routing-protocol part of an Arista EOS configuration: ``router ospf`` (``network
P/LEN area A``, ``passive-interface``, ``redistribute``, and the interfaces' ``ip ospf area``,
``ip ospf cost``, ``ip ospf network point-to-point``), ``router bgp`` (neighbours and peer
groups, written ``peer group`` or ``peer-group``; ``network``, ``aggregate-address``,
``redistribute``, ``maximum-paths``, ``distance bgp``, ``address-family ipv4`` with
``neighbor X activate`` after ``no bgp default ipv4-unicast``), and the route policy,
written as on IOS. The IOS reader reads the lines; what is EOS's own is here.

EOS defaults that differ from IOS, as the computation needs them:

- OSPF: every interface costs 10 unless ``ip ospf cost`` or ``auto-cost reference-bandwidth``
  (then a loopback costs 1, others the reference over their bandwidth); redistributed
  routes are type 2, BGP ones of metric 1 (what a vEOS 4.23 printed), others 20 as on IOS
  (not observed here); ``redistribute`` takes every subnet (no ``subnets`` keyword);
- BGP: distances 200 for eBGP, iBGP and local routes; routes it originates have weight 0;
  a best path that another protocol's route beats in the table is not advertised (unless
  ``bgp advertise-inactive``); an aggregate is active once any more specific route is in the
  table, BGP or not (Batfish's EOS model: ``setGenerateBgpAggregatesFromMainRib(true)``,
  and the lab eos_bgp_aggregate); a route map that is named but not defined permits every
  route (the lab eos_undefined_route_map); communities are sent only with ``neighbor X
  send-community``: the default of Batfish's EOS model (``AristaConversions``:
  ``setSendCommunity(firstNonNull(neighbor.getSendCommunity(), Boolean.FALSE))``), which no
  lab here checks against a switch; a route whose AS path holds the peer's AS is still sent
  (``setAllowRemoteAsOut(ALWAYS)`` there; the peer drops it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from network_discovery.derive.routing._config import RoutingConfig
from network_discovery.model import canonical_interface_name
from network_discovery.parsers.config._blocks import Block
from network_discovery.parsers.config._ios_routing import (
    Problems,
    _area,
    _int,
    _RoutingReader,
)
from network_discovery.parsers.config._nxos_routing import match_extra
from network_discovery.parsers.config._tree import Node, block_tree

__all__ = ["read_eos_routing"]

_BANDWIDTH = (
    ("ethernet", 1_000_000),
    ("port-channel", 1_000_000),
    ("vlan", 1_000_000),
    ("management", 1_000_000),
    ("loopback", 8_000_000),
)
_EOS_DISTANCE = 200
#: The origin an ``ip as-path access-list`` line may end with.
_ORIGINS = frozenset({"any", "igp", "egp", "incomplete"})
_PEER_GROUP = re.compile(r"^(neighbor \S+) peer group\b")


def _flatten(nodes: list[Node], reader: _EosRouting) -> list[tuple[int, str]]:
    """``router bgp``'s lines in the IOS reader's form: address families closed by
    ``exit-address-family``, ``vrf`` and ``vlan`` blocks left out (noted), ``peer group``
    as ``peer-group``, ``maximum-paths`` for eBGP and iBGP alike."""
    out: list[tuple[int, str]] = []
    for node in nodes:
        words = node.words
        if words[0] == "vrf":
            reader.note(f"BGP vrf {' '.join(words[1:])} is not computed")
            continue
        if words[0] in ("vlan", "vlan-aware-bundle"):
            continue
        if words[0] == "address-family":
            out.append((node.line, node.text))
            out += _flatten(node.children, reader)
            out.append((node.line, "exit-address-family"))
            continue
        text = _PEER_GROUP.sub(r"\1 peer-group", node.text)
        if words[0] == "maximum-paths" and len(words) >= 2 and words[1].isdigit():
            text = f"maximum-paths eibgp {words[1]}"
        elif words[:2] == ["distance", "bgp"] and len(words) == 3:  # the external one alone
            text = f"distance bgp {words[2]} {_EOS_DISTANCE} {_EOS_DISTANCE}"
        out.append((node.line, text))
    return out


class _EosRouting(_RoutingReader):
    def __init__(self, platform: str) -> None:
        super().__init__(platform)
        self.config.undefined_route_map_permits = True
        self.config.bandwidth_defaults = _BANDWIDTH
        #: interfaces with ``ip ospf area A`` (the process is the device's one)
        self.areas: dict[str, int] = {}

    def read(self, block: Block) -> None:
        words = block.words
        if words[:2] == ["router", "bgp"] and len(words) >= 3:
            self.eos_bgp(block)
        elif words[:2] == ["router", "ospf"] and len(words) >= 3:
            self.eos_ospf(block)
        elif words[0] == "interface" and len(words) >= 2:
            self.eos_interface(block)
        elif words[:2] == ["ip", "community-list"] and words[2:3] == ["regexp"]:
            text = block.text.replace(" regexp ", " expanded ", 1)
            super().read(Block(block.line, text.split(), text))
        else:
            super().read(block)

    def match(self, words: list[str]) -> tuple[str, tuple[str, ...]]:
        return match_extra(words) or super().match(words)

    def as_path_list(self, words: list[str], text: str) -> None:
        if words[-1] in _ORIGINS:  # ip as-path access-list NAME permit REGEX any
            words, text = words[:-1], text.rsplit(None, 1)[0]
        super().as_path_list(words, text)

    # --- interfaces ---------------------------------------------------------------

    def eos_interface(self, block: Block) -> None:
        super().interface(block)
        name = canonical_interface_name(block.words[1], self.platform)
        for number, text in block.children:
            words = text.split()
            if words[:3] == ["ip", "ospf", "area"] and len(words) == 4:
                try:
                    self.areas[name] = _area(words[3])
                except (ValueError, IndexError) as exc:
                    self.problem(number, text, exc)

    # --- OSPF ---------------------------------------------------------------------

    def eos_ospf(self, block: Block) -> None:
        known = len(self.config.ospf)
        lines = [text.split() for _, text in block.children]
        kept = Block(block.line, block.words, block.text, [], [])
        for (number, text), words in zip(block.children, lines, strict=True):
            if words[:1] == ["distance"] and words[1:2] == ["ospf"]:
                continue  # read below
            kept.children.append((number, text))
        self.ospf(kept)
        if len(self.config.ospf) == known:
            return  # a VRF's process, noted
        process = self.config.ospf[-1]
        process.redistribute = [replace(r, subnets=True) for r in process.redistribute]
        if any(w[:2] == ["auto-cost", "reference-bandwidth"] for w in lines):
            process.loopback_cost = 1
        else:
            process.default_cost = process.loopback_cost = 10
        for (number, text), words in zip(block.children, lines, strict=True):
            if words[:2] != ["distance", "ospf"]:
                continue
            try:
                for kind, value in zip(words[2::2], words[3::2], strict=False):
                    if kind == "external":
                        process.distance_external = _int(value, "a distance")
                    elif kind == "intra-area":
                        process.distance = _int(value, "a distance")
            except ValueError as exc:
                self.problem(number, text, exc)

    # --- BGP ----------------------------------------------------------------------

    def eos_bgp(self, block: Block) -> None:
        children = _flatten(block_tree(block), self)
        flat = Block(block.line, block.words, block.text, children, [])
        self.bgp(flat)
        bgp = self.config.bgp
        if bgp is None:
            return
        texts = [text.split() for _, text in children]
        if not any(w[:2] == ["distance", "bgp"] for w in texts):
            bgp.distance_ebgp = bgp.distance_ibgp = bgp.distance_local = _EOS_DISTANCE
        bgp.local_weight = 0
        bgp.advertise_inactive = any(w[:2] == ["bgp", "advertise-inactive"] for w in texts)
        bgp.aggregate_from_rib = True
        bgp.redistribute_internal = True

    def finish(self) -> None:
        """``ip ospf area A`` to the device's OSPF process (EOS has one per VRF)."""
        if not self.areas:
            return
        if not self.config.ospf:
            self.note("ip ospf area without a router ospf process")
            return
        pid = self.config.ospf[0].pid
        for name, area in self.areas.items():
            self.config.interface(name).ospf_area = (pid, area)


def read_eos_routing(blocks: Iterable[Block], platform: str) -> tuple[RoutingConfig, Problems]:
    """The routing-protocol configuration of an EOS device, and the lines of these commands
    that could not be read."""
    reader = _EosRouting(platform)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    reader.finish()
    return reader.config, reader.problems
