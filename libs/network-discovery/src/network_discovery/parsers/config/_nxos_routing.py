"""The routing-protocol part of an NX-OS configuration: ``router ospf`` (and the interfaces'
``ip router ospf N area A``, ``ip ospf cost``, ``ip ospf network point-to-point``, ``ip ospf
passive-interface``, ``bandwidth``), ``router bgp`` (neighbours with their ``address-family
ipv4 unicast``, ``template peer`` / ``peer-session`` / ``peer-policy`` and ``inherit``,
``network``, ``aggregate-address``, ``redistribute ... route-map``, ``maximum-paths``,
``distance``), and the route policy, written as on IOS (``route-map``, ``ip prefix-list``,
``ip community-list``, ``ip as-path access-list``).

NX-OS defaults that differ from IOS, as the computation needs them (Batfish's NX-OS model,
``CiscoNxosConfiguration`` / ``OspfProcess`` / ``Interface``, agrees, and the tests check
them against what NX-OS 9.2/9.3 switches printed):

- OSPF: reference bandwidth 40 Gb/s, an Ethernet port 1 Gb/s unless ``bandwidth`` (so cost
  40), a loopback cost 1; redistributed routes metric 20 (1 for BGP), type 2;
- BGP: a neighbour exchanges IPv4 routes only with ``address-family ipv4 unicast`` under it
  (or a template it inherits); an eBGP neighbour needs no outbound route map (NX-OS is not
  IOS-XR: the lab nxos_n9kv_ebgp exchanges routes without any); communities are sent only
  with ``send-community`` (Batfish: ``setSendCommunity(firstNonNull(..., FALSE))``); a route
  whose AS path starts with an eBGP peer's AS is not sent to it unless
  ``disable-peer-as-check``; distances 20 (eBGP), 200 (iBGP), 220 (local); a route map that
  is named but not defined denies every route; redistribution needs a route map (``redistribute
  direct`` takes the interfaces' subnets); routes learnt over iBGP may be redistributed into
  OSPF (the route map decides, ``match route-type internal|external``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from network_discovery.derive.routing._config import (
    BgpConfig,
    OspfProcess,
    Redistribution,
    RoutingConfig,
)
from network_discovery.model import canonical_interface_name
from network_discovery.parsers.config._blocks import Block
from network_discovery.parsers.config._ios_routing import (
    _OTHER_PROTOCOLS,
    Problems,
    _area,
    _int,
    _ip,
    _RoutingReader,
)
from network_discovery.parsers.config._tree import Node, block_tree

__all__ = ["match_extra", "read_nxos_routing"]

#: NX-OS interface bandwidth (kb/s) where ``bandwidth`` is not configured.
_BANDWIDTH = (
    ("ethernet", 1_000_000),
    ("loopback", 8_000_000),
    ("port-channel", 1_000_000),
    ("vlan", 1_000_000),
    ("mgmt", 1_000_000),
)
#: Redistribution sources as NX-OS names them.
_SOURCES = {"direct": "connected"}
#: Neighbour settings under ``address-family ipv4 unicast`` (or a ``template peer-policy``).
_AF_FLAGS = frozenset(
    {
        "route-reflector-client",
        "next-hop-self",
        "disable-peer-as-check",
        "remove-private-as",
    }
)
_SESSION_KEYS = frozenset(
    {"remote-as", "update-source", "ebgp-multihop", "local-as", "shutdown", "remove-private-as"}
)


#: ``match source-protocol`` (EOS) values as the computation names route sources.
_PROTOCOLS = {"connected": "connected", "static": "static", "bgp": "bgp", "ospf": "ospf"}


def match_extra(words: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """The match clauses NX-OS and EOS add to IOS's, as the computation evaluates them:
    ``match route-type internal|external|local`` (a BGP route learnt over iBGP, over eBGP,
    originated here) and ``match source-protocol P`` (EOS). None for any other."""
    if words[0] == "route-type" and len(words) >= 2:
        return "route-type", tuple(words[1:])
    if words[0] == "source-protocol" and len(words) == 2 and words[1] in _PROTOCOLS:
        return "protocol", (_PROTOCOLS[words[1]],)
    return None


def _redistribution(words: list[str]) -> Redistribution:
    """``redistribute direct|static|bgp N|ospf N|eigrp N route-map M``."""
    source = _SOURCES.get(words[1], words[1])
    route_map = words[words.index("route-map") + 1] if "route-map" in words else None
    metric = _int(words[words.index("metric") + 1], "a metric") if "metric" in words else None
    return Redistribution(source, True, metric, 2, route_map)


class _NxosRouting(_RoutingReader):
    def __init__(self, platform: str) -> None:
        super().__init__(platform)
        self.config.bandwidth_defaults = _BANDWIDTH
        #: interface -> passive (``[no] ip ospf passive-interface``)
        self.passive: dict[str, bool] = {}

    def read(self, block: Block) -> None:
        words = block.words
        if words[0] == "interface" and len(words) >= 2:
            self.nx_interface(block)
        elif words[:2] == ["router", "ospf"] and len(words) >= 3:
            self.nx_ospf(block)
        elif words[:2] == ["router", "bgp"] and len(words) >= 3:
            self.nx_bgp(block)
        elif words[0] == "router" and len(words) >= 2 and words[1] in _OTHER_PROTOCOLS:
            self.note(f"router {words[1]} is configured; its routes are not computed")
        elif words[:2] == ["ip", "community-list"] or words[:3] == ["ip", "as-path", "access-list"]:
            self.read_list(block)
        elif words[0] in ("route-map",) or words[:2] == ["ip", "prefix-list"]:
            super().read(block)

    def match(self, words: list[str]) -> tuple[str, tuple[str, ...]]:
        return match_extra(words) or super().match(words)

    def read_list(self, block: Block) -> None:
        """``ip community-list standard|expanded NAME seq N permit ...`` and ``ip as-path
        access-list NAME seq N permit "REGEX"``: the sequence number and quotes dropped."""
        words = list(block.words)
        if "seq" in words:
            at = words.index("seq")
            del words[at : at + 2]
        text = " ".join(words).replace('"', "")
        words = text.split()
        if words[1] == "community-list" and len(words) >= 4:
            self.community_list(words, text)
        elif len(words) >= 6:
            self.as_path_list(words, text)

    # --- interfaces ---------------------------------------------------------------

    def nx_interface(self, block: Block) -> None:
        name = canonical_interface_name(block.words[1], self.platform)
        for number, text in block.direct_children():
            words = text.split()
            try:
                if words[:3] == ["ip", "router", "ospf"] and len(words) >= 6 and words[4] == "area":
                    self.config.interface(name).ospf_area = (words[3], _area(words[5]))
                elif words[:3] == ["ip", "ospf", "cost"]:
                    self.config.interface(name).cost = _int(words[3], "an OSPF cost")
                elif words[:3] == ["ip", "ospf", "network"]:
                    self.config.interface(name).point_to_point = words[3] == "point-to-point"
                elif words == ["ip", "ospf", "passive-interface"]:
                    self.passive[name] = True
                elif words == ["no", "ip", "ospf", "passive-interface"]:
                    self.passive[name] = False
                elif words[0] == "bandwidth" and len(words) == 2:
                    self.config.interface(name).bandwidth_kbps = _int(words[1], "a bandwidth")
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)

    # --- OSPF ---------------------------------------------------------------------

    def nx_ospf(self, block: Block) -> None:
        process = OspfProcess(pid=block.words[2], reference_bandwidth_mbps=40_000)
        process.loopback_cost = 1
        for node in block_tree(block):
            words = node.words
            if words[0] == "vrf":
                self.note(
                    f"router ospf {process.pid} vrf {words[1]}: OSPF in a VRF is not computed"
                )
                continue
            try:
                self.nx_ospf_line(process, words)
            except (ValueError, IndexError) as exc:
                self.problem(node.line, node.text, exc)
        self.config.ospf.append(process)

    def nx_ospf_line(self, process: OspfProcess, words: list[str]) -> None:
        head = words[0]
        if head == "router-id":
            process.router_id = _ip(words[1])
        elif words == ["passive-interface", "default"]:
            process.passive_default = True
        elif head == "redistribute" and len(words) >= 2:
            if words[1] == "maximum-prefix":
                return
            process.redistribute.append(_redistribution(words))
        elif words[:2] == ["default-information", "originate"]:
            if "route-map" in words:
                self.note("OSPF default-information originate route-map is not computed")
            metric = _int(words[words.index("metric") + 1], "a metric") if "metric" in words else 1
            process.default_originate = ("always" in words, metric, 2)
        elif words[:2] == ["auto-cost", "reference-bandwidth"]:
            value = _int(words[2], "a bandwidth")
            unit = words[3].lower() if len(words) > 3 else "mbps"
            process.reference_bandwidth_mbps = value * 1000 if unit == "gbps" else value
        elif head == "maximum-paths":
            process.maximum_paths = _int(words[1], "a number of paths")
        elif head == "distance" and len(words) == 2:
            process.distance = _int(words[1], "a distance")
        elif head == "shutdown":
            process.shutdown = True
        elif head == "area" and len(words) >= 4 and words[2] == "range":
            process.ranges.append(self.area_range(words))
        elif head == "area" and len(words) >= 3 and words[2] in ("stub", "nssa"):
            self.note(f"OSPF area {words[1]} {words[2]} is not computed")

    # --- BGP ----------------------------------------------------------------------

    def nx_bgp(self, block: Block) -> None:
        bgp = BgpConfig(asn=self.asn(block.words[2]), distance_local=220)
        bgp.redistribute_internal = True
        templates: dict[str, dict[str, list[str]]] = {}
        neighbors: list[tuple[Node, dict[str, list[str]]]] = []
        for node in block_tree(block):
            words = node.words
            try:
                if words[0] == "vrf":
                    self.note(f"BGP vrf {words[1]} is not computed")
                elif words[0] == "address-family":
                    if words[1:3] == ["ipv4", "unicast"]:
                        for child in node.children:
                            self.guarded(child, lambda w: self.nx_bgp_af(bgp, w))
                elif words[0] == "template" and len(words) >= 3:
                    templates[f"{words[1]} {words[2]}"] = self.nx_peer(node, words[1])
                elif words[0] == "neighbor" and len(words) >= 2:
                    settings = self.nx_peer(node, "peer")
                    if words[2:3] == ["remote-as"] and len(words) >= 4:
                        settings["remote-as"] = words[3:4]
                    neighbors.append((node, settings))
                elif words[:2] == ["bestpath", "always-compare-med"]:
                    bgp.always_compare_med = True
                elif words[:2] == ["bestpath", "as-path"] and "multipath-relax" in words:
                    bgp.multipath_relax = True
                elif words[0] == "cluster-id":
                    bgp.cluster_id = _ip(words[1])
                elif words[0] == "confederation":
                    self.note("BGP confederations are not computed")
                else:
                    self.bgp_line(bgp, {}, words)
            except (ValueError, IndexError) as exc:
                self.problem(node.line, node.text, exc)
        for node, settings in neighbors:
            try:
                self.nx_neighbor(bgp, node.words[1], settings, templates)
            except (ValueError, IndexError) as exc:
                self.problem(node.line, node.text, exc)
        self.config.bgp = bgp

    def guarded(self, node: Node, action: Callable[[list[str]], None]) -> None:
        try:
            action(node.words)
        except (ValueError, IndexError) as exc:
            self.problem(node.line, node.text, exc)

    def nx_bgp_af(self, bgp: BgpConfig, words: list[str]) -> None:
        head = words[0]
        if head == "redistribute" and len(words) >= 2:
            bgp.redistribute.append(_redistribution(words))
        elif head == "distance" and len(words) == 4:
            bgp.distance_ebgp = _int(words[1], "a distance")
            bgp.distance_ibgp = _int(words[2], "a distance")
            bgp.distance_local = _int(words[3], "a distance")
        elif head == "additional-paths" or words[:2] == ["default-information", "originate"]:
            self.note(f"BGP {' '.join(words)} is not computed")
        elif head in ("network", "aggregate-address", "maximum-paths"):
            self.bgp_line(bgp, {}, words)

    def nx_peer(self, node: Node, kind: str) -> dict[str, list[str]]:
        """A neighbour's or a template's settings (the keys of the IOS reader's neighbours,
        with ``activate`` for an IPv4 unicast address family and ``inherit`` for templates)."""
        settings: dict[str, list[str]] = {}
        for child in node.children:
            words = child.words
            try:
                if kind == "peer-policy":
                    self.nx_peer_af(settings, words)
                elif words[0] == "inherit" and len(words) >= 3:
                    settings.setdefault("inherit", []).append(f"{words[1]} {words[2]}")
                elif words[0] == "address-family":
                    if words[1:3] == ["ipv4", "unicast"]:
                        settings["activate"] = []
                        for grandchild in child.children:
                            self.nx_peer_af(settings, grandchild.words)
                elif words[0] in _SESSION_KEYS:
                    settings[words[0]] = words[1:]
            except (ValueError, IndexError) as exc:
                self.problem(child.line, child.text, exc)
        if kind == "peer-policy":
            settings["activate"] = []
        return settings

    def nx_peer_af(self, settings: dict[str, list[str]], words: list[str]) -> None:
        head = words[0]
        if head in ("route-map", "prefix-list") and len(words) == 3:
            settings[f"{head}-{words[2]}"] = words[1:2]
        elif head == "send-community":
            if words[1:2] in ([], ["both"], ["standard"]):
                settings["send-community"] = []
        elif head in _AF_FLAGS:
            settings[head] = []
        elif head in ("allowas-in", "weight"):
            settings[head] = words[1:]
        elif head == "inherit" and len(words) >= 3:
            settings.setdefault("inherit", []).append(f"{words[1]} {words[2]}")
        elif head in ("default-originate", "as-override", "suppress-inactive"):
            self.note(f"BGP neighbour {head} is not computed")

    def merged(
        self,
        settings: dict[str, list[str]],
        templates: dict[str, dict[str, list[str]]],
        depth: int = 0,
    ) -> dict[str, list[str]]:
        """A neighbour's settings over those of the templates it inherits (theirs first)."""
        out: dict[str, list[str]] = {}
        for name in settings.get("inherit", []):
            template = templates.get(name)
            if template is None:
                self.note(f"BGP template {name} is not defined")
            elif depth < 8:
                out.update(self.merged(template, templates, depth + 1))
        out.update({k: v for k, v in settings.items() if k != "inherit"})
        return out

    def nx_neighbor(
        self,
        bgp: BgpConfig,
        name: str,
        settings: dict[str, list[str]],
        templates: dict[str, dict[str, list[str]]],
    ) -> None:
        try:
            address = ipaddress.IPv4Address(name)
        except ValueError:
            if ":" not in name:
                self.note(f"BGP neighbour {name} (a prefix or an interface) is not computed")
            return
        merged = self.merged(settings, templates)
        neighbor = self.neighbor(address, merged, True)
        neighbor.peer_as_check = "disable-peer-as-check" not in merged
        bgp.neighbors[address] = neighbor

    def finish(self) -> None:
        """``[no] ip ospf passive-interface`` to the process the interface runs."""
        for name, passive in self.passive.items():
            settings = self.config.interfaces.get(name)
            area = settings.ospf_area if settings is not None else None
            for process in self.config.ospf:
                if area is not None and area[0] == process.pid:
                    (process.passive if passive else process.not_passive).add(name)


def read_nxos_routing(blocks: Iterable[Block], platform: str) -> tuple[RoutingConfig, Problems]:
    """The routing-protocol configuration of an NX-OS device, and the lines of these
    commands that could not be read."""
    reader = _NxosRouting(platform)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    reader.finish()
    return reader.config, reader.problems
