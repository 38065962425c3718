"""The routing-protocol part of an IOS / IOS-XE configuration: ``router ospf``, ``router
bgp`` (neighbours, peer groups, networks, aggregates, redistribution, route maps per
neighbour), per-interface OSPF settings, and the route policy they use (``route-map``,
``ip prefix-list``, access lists used as route filters, ``ip community-list``, ``ip as-path
access-list``).

The result is a :class:`~network_discovery.derive.routing.RoutingConfig`; what it asks for
and the route computation does not do (VRF instances of the protocols, EIGRP, IS-IS, RIP,
confederations) is listed in its notes, never silently approximated. The NX-OS and EOS
readers build on this one (their route policy is written the same way).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from network_discovery.derive.routing._config import (
    AclLine,
    AsPathList,
    BgpConfig,
    BgpNeighbor,
    CommunityList,
    OspfNetwork,
    OspfProcess,
    OspfRange,
    PrefixList,
    PrefixListEntry,
    Redistribution,
    RouteFilterAcl,
    RouteMap,
    RouteMapClause,
    RoutingConfig,
)
from network_discovery.model import canonical_interface_name
from network_discovery.parsers.config._blocks import Block

__all__ = ["read_ios_routing"]

Problems = list[tuple[int, str]]

#: Route-map set clauses that change nothing the computation looks at.
_HARMLESS_SETS = frozenset({"tag", "comm-list", "extcommunity", "dampening", "automatic-tag"})
_OTHER_PROTOCOLS = ("eigrp", "isis", "rip", "odr", "lisp", "mobile")
_PEER_KEYS = frozenset(
    {
        "remote-as",
        "update-source",
        "route-map",
        "prefix-list",
        "send-community",
        "route-reflector-client",
        "next-hop-self",
        "ebgp-multihop",
        "activate",
        "shutdown",
        "weight",
        "allowas-in",
        "local-as",
        "remove-private-as",
        "peer-group",
        "advertise",
    }
)


class _Bad(ValueError):
    pass


def _ip(word: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(word)
    except ValueError:
        raise _Bad(f"{word!r} is not an IPv4 address") from None


def _int(word: str, what: str) -> int:
    if not word.lstrip("+-").isdigit():
        raise _Bad(f"{word!r} is not {what}")
    return int(word)


def _area(word: str) -> int:
    if "." in word:
        return int(_ip(word))
    return _int(word, "an OSPF area")


def _classful(address: ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    first = int(address) >> 24
    length = 8 if first < 128 else 16 if first < 192 else 24
    return ipaddress.IPv4Network(f"{address}/{length}", strict=False)


def _address_spec(words: list[str], i: int, standard: bool) -> tuple[tuple[int, int], int]:
    """``any`` | ``host A`` | ``A W`` (a standard list may give ``A`` alone: a host)."""
    if words[i] == "any":
        return (0, 0xFFFFFFFF), i + 1
    if words[i] == "host":
        return (int(_ip(words[i + 1])), 0), i + 2
    address = int(_ip(words[i]))
    if i + 1 < len(words):
        try:
            return (address, int(ipaddress.IPv4Address(words[i + 1]))), i + 2
        except ValueError:
            pass
    if standard:
        return (address, 0), i + 1
    raise _Bad(f"{' '.join(words)!r}: an address without its wildcard")


def _acl_line(words: list[str], standard: bool) -> AclLine | None:
    """``permit|deny [proto] SRC [DST]``; a ``remark`` is no line."""
    if words and words[0].isdigit():  # a sequence number in a named list
        words = words[1:]
    if not words or words[0] not in ("permit", "deny"):
        return None
    permit = words[0] == "permit"
    if standard:
        source, _ = _address_spec(words, 1, True)
        return AclLine(permit, source)
    source, i = _address_spec(words, 2, False)
    i = _skip_ports(words, i)
    destination, _ = _address_spec(words, i, False)
    return AclLine(permit, source, destination)


def _skip_ports(words: list[str], i: int) -> int:
    """Past a port condition (``eq X``, ``range A B``…): it never matters for routes."""
    if i < len(words) and words[i] in ("eq", "gt", "lt", "neq"):
        return i + 2
    if i < len(words) and words[i] == "range":
        return i + 3
    return i


def _numbered_standard(name: str) -> bool:
    number = int(name)
    return number < 100 or 1300 <= number <= 1999


class _RoutingReader:
    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.config = RoutingConfig()
        self.problems: Problems = []
        self.groups: dict[str, dict[str, list[str]]] = {}

    def problem(self, line: int, text: str, exc: Exception) -> None:
        why = "incomplete line" if isinstance(exc, IndexError) else str(exc) or "unreadable"
        self.problems.append((line, f"{why}: {text.strip()[:160]!r}"))

    def note(self, text: str) -> None:
        if text not in self.config.notes:
            self.config.notes.append(text)

    # --- top level ----------------------------------------------------------------

    def read(self, block: Block) -> None:
        words = block.words
        head = words[0]
        if head == "interface" and len(words) >= 2:
            self.interface(block)
        elif words[:2] == ["router", "ospf"] and len(words) >= 3:
            self.ospf(block)
        elif words[:2] == ["router", "bgp"] and len(words) >= 3:
            self.bgp(block)
        elif head == "router" and len(words) >= 2 and words[1] in _OTHER_PROTOCOLS:
            self.note(f"router {words[1]} is configured; its routes are not computed")
        elif words[:2] == ["ip", "prefix-list"] and len(words) >= 4:
            self.prefix_list(words)
        elif head == "access-list" and len(words) >= 3 and words[1].isdigit():
            self.numbered_acl(words)
        elif words[:2] == ["ip", "access-list"] and len(words) >= 4:
            self.named_acl(block)
        elif words[:2] == ["ip", "community-list"] and len(words) >= 4:
            self.community_list(words, block.text)
        elif words[:3] == ["ip", "as-path", "access-list"] and len(words) >= 6:
            self.as_path_list(words, block.text)
        elif head == "route-map" and len(words) >= 2:
            self.route_map(block)

    def interface(self, block: Block) -> None:
        name = canonical_interface_name(block.words[1], self.platform)
        for number, text in block.children:
            words = text.split()
            try:
                if words[:3] == ["ip", "ospf", "cost"]:
                    self.config.interface(name).cost = _int(words[3], "an OSPF cost")
                elif words[:3] == ["ip", "ospf", "network"]:
                    self.config.interface(name).point_to_point = words[3] == "point-to-point"
                elif words[0] == "bandwidth" and len(words) == 2:
                    self.config.interface(name).bandwidth_kbps = _int(words[1], "a bandwidth")
                elif words[:2] == ["ip", "ospf"] and len(words) >= 5 and words[3] == "area":
                    area = (words[2], _area(words[4]))
                    self.config.interface(name).ospf_area = area
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)

    # --- OSPF ---------------------------------------------------------------------

    def ospf(self, block: Block) -> None:
        if "vrf" in block.words:
            self.note(f"{block.text}: OSPF in a VRF is not computed")
            return
        process = OspfProcess(pid=block.words[2])
        for number, text in block.children:
            words = text.split()
            try:
                self.ospf_line(process, words)
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)
        self.config.ospf.append(process)

    def ospf_line(self, process: OspfProcess, words: list[str]) -> None:
        head = words[0]
        if head == "router-id":
            process.router_id = _ip(words[1])
        elif head == "network" and len(words) >= 5 and words[3] == "area":
            wildcard = int(_ip(words[2]))
            process.networks.append(OspfNetwork(int(_ip(words[1])), wildcard, _area(words[4])))
        elif head == "network" and len(words) >= 4 and words[2] == "area" and "/" in words[1]:
            # "network 10.0.3.0/24 area 0" (Quagga/FRR and IOS-like configs written that way)
            network = ipaddress.IPv4Network(words[1], strict=False)
            wildcard = int(network.hostmask)
            area = _area(words[3])
            process.networks.append(OspfNetwork(int(network.network_address), wildcard, area))
        elif head == "passive-interface":
            if words[1] == "default":
                process.passive_default = True
            else:
                process.passive.add(canonical_interface_name(words[1], self.platform))
        elif words[:2] == ["no", "passive-interface"]:
            process.not_passive.add(canonical_interface_name(words[2], self.platform))
        elif head == "redistribute":
            process.redistribute.append(self.redistribution(words, ospf=True))
        elif words[:2] == ["default-information", "originate"]:
            metric, metric_type = 1, 2
            if "metric" in words:
                metric = _int(words[words.index("metric") + 1], "a metric")
            if "metric-type" in words:
                metric_type = _int(words[words.index("metric-type") + 1], "a metric type")
            process.default_originate = ("always" in words, metric, metric_type)
        elif words[:2] == ["auto-cost", "reference-bandwidth"]:
            process.reference_bandwidth_mbps = _int(words[2], "a bandwidth")
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

    def area_range(self, words: list[str]) -> OspfRange:
        """``area A range ADDRESS MASK|PREFIX/LEN [advertise|not-advertise] [cost N]``: the
        summary's discard route is installed where it is advertised (IOS prints it as ``is
        a summary, Null0``)."""
        if "/" in words[3]:
            prefix = ipaddress.IPv4Network(words[3], strict=False)
        else:
            prefix = ipaddress.IPv4Network(f"{words[3]}/{words[4]}", strict=False)
        advertise = "not-advertise" not in words
        cost = _int(words[words.index("cost") + 1], "a cost") if "cost" in words else None
        return OspfRange(_area(words[1]), prefix, advertise, cost, discard=advertise)

    def redistribution(self, words: list[str], *, ospf: bool) -> Redistribution:
        source = words[1]
        metric = None
        if "metric" in words:
            metric = _int(words[words.index("metric") + 1], "a metric")
        metric_type = 2
        if "metric-type" in words:
            metric_type = _int(words[words.index("metric-type") + 1], "a metric type")
        route_map = words[words.index("route-map") + 1] if "route-map" in words else None
        # IOS-XE 15+ and every BGP redistribution take subnets; classic OSPF needs "subnets"
        subnets = not ospf or "subnets" in words
        return Redistribution(source, subnets, metric, metric_type, route_map)

    # --- BGP ----------------------------------------------------------------------

    def bgp(self, block: Block) -> None:
        bgp = BgpConfig(asn=self.asn(block.words[2]))
        peers: dict[str, dict[str, list[str]]] = {}
        skip_family = False
        no_default_ipv4 = False
        for number, text in block.children:
            words = text.split()
            try:
                if words[0] == "address-family":
                    family = words[1:]
                    skip_family = (
                        family[:1] != ["ipv4"]
                        or "vrf" in family
                        or (len(family) > 1 and family[1] not in ("unicast", "vrf"))
                    )
                    if "vrf" in family:
                        self.note(f"BGP {' '.join(words)} is not computed")
                    continue
                if words[0] == "exit-address-family":
                    skip_family = False
                    continue
                if skip_family:
                    continue
                if words[:3] == ["no", "bgp", "default"] and words[3:4] == ["ipv4-unicast"]:
                    no_default_ipv4 = True
                self.bgp_line(bgp, peers, words)
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)
        self.bgp_neighbors(bgp, peers, no_default_ipv4)
        self.config.bgp = bgp

    def asn(self, word: str) -> int:
        if "." in word:  # asdot
            high, low = word.split(".", 1)
            return _int(high, "an AS number") * 65536 + _int(low, "an AS number")
        return _int(word, "an AS number")

    def bgp_line(
        self, bgp: BgpConfig, peers: dict[str, dict[str, list[str]]], words: list[str]
    ) -> None:
        head = words[0]
        if words[:2] == ["bgp", "router-id"]:
            if words[2] != "vrf":  # "bgp router-id vrf auto-assign": the VRFs' own
                bgp.router_id = _ip(words[2])
        elif head == "router-id" and len(words) == 2:  # NX-OS and EOS write it so
            bgp.router_id = _ip(words[1])
        elif words[:2] == ["bgp", "redistribute-internal"]:
            bgp.redistribute_internal = True
        elif words[:2] == ["bgp", "cluster-id"]:
            bgp.cluster_id = (
                _ip(words[2])
                if "." in words[2]
                else ipaddress.IPv4Address(_int(words[2], "a cluster id"))
            )
        elif words[:2] == ["bgp", "default"] and words[2:3] == ["local-preference"]:
            bgp.default_local_pref = _int(words[3], "a local preference")
        elif words[:3] == ["bgp", "bestpath", "med"] and "always" in words:
            bgp.always_compare_med = True
        elif words[:3] == ["bgp", "bestpath", "as-path"] and "multipath-relax" in words:
            bgp.multipath_relax = True
        elif words[:2] == ["bgp", "confederation"]:
            self.note("BGP confederations are not computed")
        elif words[:2] == ["bgp", "additional-paths"]:
            bgp.add_path_send = bgp.add_path_send or "send" in words
            bgp.add_path_receive = bgp.add_path_receive or "receive" in words
        elif head == "neighbor" and len(words) >= 3:
            peer = peers.setdefault(words[1], {})
            key = words[2]
            if key == "peer-group" and len(words) == 3:
                peer["is-group"] = []
            elif key in _PEER_KEYS:
                if key in ("route-map", "prefix-list"):
                    key = f"{key}-{words[4]}" if len(words) > 4 else key
                peer[key] = words[3:]
        elif head == "network" and len(words) >= 2:
            bgp.networks.append(self.bgp_network(words))
        elif head == "aggregate-address" and len(words) >= 2:
            if "/" in words[1]:  # NX-OS and EOS: PREFIX/LEN
                prefix = ipaddress.IPv4Network(words[1], strict=False)
            else:
                prefix = ipaddress.IPv4Network(f"{words[1]}/{words[2]}", strict=False)
            bgp.aggregates.append((prefix, "summary-only" in words, "as-set" in words))
        elif head == "redistribute":
            bgp.redistribute.append(self.redistribution(words, ospf=False))
        elif head == "maximum-paths":
            if words[1] == "ibgp":
                bgp.maximum_paths_ibgp = _int(words[2], "a number of paths")
            elif words[1] == "eibgp":
                paths = _int(words[2], "a number of paths")
                bgp.maximum_paths_ibgp = bgp.maximum_paths_ebgp = paths
            else:
                bgp.maximum_paths_ebgp = _int(words[1], "a number of paths")
        elif head == "distance" and words[1:2] == ["bgp"]:
            bgp.distance_ebgp = _int(words[2], "a distance")
            bgp.distance_ibgp = _int(words[3], "a distance")
            bgp.distance_local = _int(words[4], "a distance")

    def bgp_network(self, words: list[str]) -> tuple[ipaddress.IPv4Network, str | None]:
        route_map = words[words.index("route-map") + 1] if "route-map" in words else None
        if "/" in words[1]:  # NX-OS and EOS: PREFIX/LEN
            return ipaddress.IPv4Network(words[1], strict=False), route_map
        address = _ip(words[1])
        if "mask" in words:
            mask = words[words.index("mask") + 1]
            prefix = ipaddress.IPv4Network(f"{address}/{mask}", strict=False)
        else:
            prefix = _classful(address)
        return prefix, route_map

    def bgp_neighbors(
        self, bgp: BgpConfig, peers: dict[str, dict[str, list[str]]], no_default_ipv4: bool
    ) -> None:
        for name, settings in peers.items():
            if "is-group" in settings:
                continue
            try:
                address = ipaddress.IPv4Address(name)
            except ValueError:
                if ":" not in name:
                    self.note(f"BGP neighbour {name} is neither an address nor a peer group")
                continue  # IPv6 neighbours are not computed
            merged: dict[str, list[str]] = {}
            group = settings.get("peer-group")
            if group:
                merged.update(peers.get(group[0], {}))
            merged.update(settings)
            bgp.neighbors[address] = self.neighbor(address, merged, no_default_ipv4)

    def neighbor(
        self, address: ipaddress.IPv4Address, s: dict[str, list[str]], no_default_ipv4: bool
    ) -> BgpNeighbor:
        def first(key: str) -> str | None:
            values = s.get(key)
            return values[0] if values else None

        remote = first("remote-as")
        update_source = first("update-source")
        local_as = first("local-as")
        return BgpNeighbor(
            address=address,
            remote_as=self.asn(remote) if remote else None,
            update_source=(
                canonical_interface_name(update_source, self.platform) if update_source else None
            ),
            route_map_in=first("route-map-in"),
            route_map_out=first("route-map-out"),
            prefix_list_in=first("prefix-list-in"),
            prefix_list_out=first("prefix-list-out"),
            # "send-community extended" sends extended communities only
            send_community="send-community" in s and s["send-community"][:1] != ["extended"],
            route_reflector_client="route-reflector-client" in s,
            next_hop_self="next-hop-self" in s,
            ebgp_multihop="ebgp-multihop" in s,
            active="activate" in s or not no_default_ipv4,
            shutdown="shutdown" in s,
            weight=int(first("weight") or 0),
            allowas_in=int(first("allowas-in") or 3) if "allowas-in" in s else 0,
            local_as=self.asn(local_as) if local_as else None,
            remove_private_as="remove-private-as" in s,
            advertise_all_paths=s.get("advertise", [])[:2] == ["additional-paths", "all"],
        )

    # --- route policy -------------------------------------------------------------

    def prefix_list(self, words: list[str]) -> None:
        name, rest = words[2], words[3:]
        if rest[0] == "description":
            return
        plist = self.config.prefix_lists.setdefault(name, PrefixList(name))
        sequence = (len(plist.entries) + 1) * 5
        if rest[0] == "seq":
            sequence, rest = _int(rest[1], "a sequence number"), rest[2:]
        permit = rest[0] == "permit"
        network = ipaddress.IPv4Network(rest[1], strict=False)
        ge = _int(rest[rest.index("ge") + 1], "a length") if "ge" in rest else None
        le = _int(rest[rest.index("le") + 1], "a length") if "le" in rest else None
        plist.entries.append((sequence, PrefixListEntry(permit, network, ge, le)))

    def numbered_acl(self, words: list[str]) -> None:
        name = words[1]
        try:
            line = _acl_line(words[2:], _numbered_standard(name))
        except (ValueError, IndexError):  # reported by the packet-filter reader
            line = AclLine(False, (0, 0xFFFFFFFF))
        if line is not None:
            self.config.acls.setdefault(name, RouteFilterAcl(name)).lines.append(line)

    def named_acl(self, block: Block) -> None:
        kind, name = block.words[2], block.words[3]
        if kind not in ("standard", "extended"):
            return
        acl = self.config.acls.setdefault(name, RouteFilterAcl(name))
        for _number, text in block.children:
            try:
                line = _acl_line(text.split(), kind == "standard")
            except (ValueError, IndexError):
                # the packet-filter reader reports the lines of access lists it cannot read
                acl.lines.append(AclLine(False, (0, 0xFFFFFFFF)))
                break
            if line is not None:
                acl.lines.append(line)

    def community_list(self, words: list[str], text: str) -> None:
        rest = words[2:]
        if rest[0] in ("standard", "expanded"):
            expanded, name, rest = rest[0] == "expanded", rest[1], rest[2:]
        else:
            name, rest = rest[0], rest[1:]
            expanded = name.isdigit() and int(name) >= 100
        if rest[0] not in ("permit", "deny"):
            return
        value = text.split(rest[0], 1)[1].strip()
        entry = (rest[0] == "permit", expanded, value)
        self.config.community_lists.setdefault(name, CommunityList(name)).entries.append(entry)

    def as_path_list(self, words: list[str], text: str) -> None:
        name, action = words[3], words[4]
        value = text.split(action, 1)[1].strip()
        self.config.as_path_lists.setdefault(name, AsPathList(name)).entries.append(
            (action == "permit", value)
        )

    def route_map(self, block: Block) -> None:
        words = block.words
        name = words[1]
        permit = words[2] != "deny" if len(words) > 2 else True
        sequence = _int(words[3], "a sequence number") if len(words) > 3 else 10
        matches: list[tuple[str, tuple[str, ...]]] = []
        sets: list[tuple[str, tuple[str, ...]]] = []
        terminal, goto = True, None
        for number, text in block.children:
            parts = text.split()
            try:
                if parts[0] == "match":
                    matches.append(self.match(parts[1:]))
                elif parts[0] == "set":
                    found = self.set_clause(parts[1:])
                    if found is not None:
                        sets.append(found)
                elif parts[0] == "continue" and permit:
                    # on to the clause N (or the next one); permitted if none matches there
                    terminal = False
                    goto = _int(parts[1], "a sequence number") if len(parts) > 1 else None
            except (ValueError, IndexError) as exc:
                self.problem(number, text, exc)
        clause = RouteMapClause(sequence, permit, tuple(matches), tuple(sets), terminal, goto)
        self.config.route_maps.setdefault(name, RouteMap(name)).clauses.append(clause)

    def match(self, words: list[str]) -> tuple[str, tuple[str, ...]]:
        if words[:3] == ["ip", "address", "prefix-list"]:
            return "prefix-list", tuple(words[3:])
        if words[:2] == ["ip", "address"]:
            return "ip-address", tuple(words[2:])
        if words[0] == "community":
            return "community", tuple(w for w in words[1:] if w != "exact-match")
        if words[0] == "as-path":
            return "as-path", tuple(words[1:])
        self.note(f"route-map match {' '.join(words)} is not computed: the clause never matches")
        return "unknown", tuple(words)

    def set_clause(self, words: list[str]) -> tuple[str, tuple[str, ...]] | None:
        head = words[0]
        if head in _HARMLESS_SETS:
            return None
        if head == "local-preference":
            return "local-preference", (str(_int(words[1], "a local preference")),)
        if head == "metric":
            _int(words[1], "a metric")
            return "metric", (words[1],)
        if head == "weight":
            return "weight", (str(_int(words[1], "a weight")),)
        if head == "community":
            return "community", tuple(words[1:])
        if words[:2] == ["as-path", "prepend"]:
            return "as-path-prepend", tuple(str(_int(w, "an AS number")) for w in words[2:])
        if head == "origin":
            return "origin", (words[1],)
        if words[:2] == ["ip", "next-hop"]:
            return "next-hop", (words[2],)
        self.note(f"route-map set {' '.join(words)} is not computed: its routes are dropped")
        return "unknown", tuple(words)


def read_ios_routing(blocks: Iterable[Block], platform: str) -> tuple[RoutingConfig, Problems]:
    """The routing-protocol configuration of an IOS device, and the lines of these
    commands that could not be read."""
    reader = _RoutingReader(platform)
    for block in blocks:
        try:
            reader.read(block)
        except (ValueError, IndexError) as exc:
            reader.problem(block.line, block.text, exc)
    return reader.config, reader.problems
