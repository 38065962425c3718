"""``ibnetdiscover``: the topology format (node records with their connected ports) and the
``-p``/``--ports`` format (one line per port).

A switch record lists ``[port] "remote"[remote port]`` lines; a channel adapter record
``[port](port GUID) "remote"[remote port]``. Both name a remote node by ``S-``/``H-``/``R-``
and its node GUID. A remote switch's port GUID is the one its own record shows
(``switchguid=0x…(port GUID)``); a link to a switch that has no record in the output is
reported, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from network_discovery.model.fabric import (
    IBLink,
    IBNode,
    IBNodeType,
    IBPort,
    IBSpeed,
    IBWidth,
    normalise_guid,
    split_description,
)
from network_discovery.parsers.infiniband._common import (
    MAX_LINE_CHARS,
    FabricResult,
    LineError,
    add_link,
    build,
    speed_from_compat,
    split_lines,
    width_from_text,
)

__all__ = ["parse_ibnetdiscover"]

_TYPES = {
    "switch": IBNodeType.SWITCH,
    "ca": IBNodeType.CA,
    "hca": IBNodeType.CA,
    "rt": IBNodeType.ROUTER,
    "sw": IBNodeType.SWITCH,
    "router": IBNodeType.ROUTER,
}
_ID = r'"(?P<{0}kind>[SHR?])-(?P<{0}guid>[0-9a-fA-F]{{1,16}})"'
_LINKTYPE = r"(?P<lw>1x|2x|4x|8x|12x|\?\?)(?P<ls>SDR|DDR|QDR|FDR10|FDR|EDR|HDR|NDR|XDR|\?\?\?)"
_TAIL = r"(?:\s+s=\d+\s+w=\d+\s+v=\d+)?(?:\s+slot\s+\d+|\s+\(scp\))?\s*$"

_ASSIGN = re.compile(
    r"^(?P<key>vendid|devid|sysimgguid|switchguid|caguid|rtguid)=(?P<value>0x[0-9a-fA-F]+|\d+)"
    r"(?:\((?P<port>[0-9a-fA-F]{1,16})\))?\s*(?:#.*)?$"
)
_NODE = re.compile(
    r"^(?P<type>Switch|Ca|Hca|Rt)\s+(?P<ports>\d+)\s+"
    + _ID.format("")
    + r'\s*(?:#\s*"(?P<desc>.*)"(?P<rest>.*))?$'
)
_SWITCH_REST = re.compile(
    r"^\s*(?P<esp0>base|enhanced)\s+port\s+0\s+lid\s+(?P<lid>\d+)\s+lmc\s+(?P<lmc>\d+)\s*$"
)
_SWITCH_PORT = re.compile(
    r"^\[(?P<port>\d+)\](?:\[ext \d+\])?\s+"
    + _ID.format("r")
    + r"\[(?P<rport>\d+)\](?:\[ext \d+\])?(?:\((?P<rpguid>[0-9a-fA-F]{1,16})\))?\s*"
    r'#\s*"(?P<rdesc>.*)"\s+lid\s+(?P<rlid>\d+)\s+' + _LINKTYPE + _TAIL
)
_CA_PORT = re.compile(
    r"^\[(?P<port>\d+)\]\((?P<pguid>[0-9a-fA-F]{1,16})\)\s*"
    + _ID.format("r")
    + r"\[(?P<rport>\d+)\](?:\[ext \d+\])?(?:\s*\((?P<rpguid>[0-9a-fA-F]{1,16})\))?\s*"
    r'#\s*lid\s+(?P<lid>\d+)\s+lmc\s+(?P<lmc>\d+)\s+"(?P<rdesc>.*)"\s+lid\s+(?P<rlid>\d+)\s+'
    + _LINKTYPE
    + _TAIL
)
_PORTS_MODE = re.compile(
    r"^(?P<type>SW|CA|RT|\?\?)\s+(?P<lid>\d+)\s+(?P<port>\d+)\s+0x(?P<pguid>[0-9a-fA-F]{16})\s+"
    r"(?P<lw>\S+)\s+(?P<ls>\S+)\s+"
    r"(?:-\s+(?P<rtype>SW|CA|RT|\?\?)\s+(?P<rlid>\d+)\s+(?P<rport>\d+)\s+"
    r"0x(?P<rpguid>[0-9a-fA-F]{16})\s+\( '(?P<desc>.*)' - '(?P<rdesc>.*)' \)"
    r"|'(?P<odesc>.*)')\s*$"
)
#: Lines the tool prints that carry nothing this parser keeps (headers, chassis grouping).
_SKIP = re.compile(r"^(?:#.*|Chassis \d+.*|Non-Chassis Nodes|Hostname: .*)$")


@dataclass
class _Node:
    node: IBNode
    port_guid: str  # a switch's port-0 GUID; unused for channel adapters


@dataclass
class _Pending:
    lineno: int
    line: str
    a: tuple[str, int]  # (port GUID, port)
    remote_node: str
    remote_kind: str
    remote_port: int
    remote_port_guid: str | None
    width: IBWidth | None
    speed: IBSpeed | None
    link: IBLink | None = None  # complete already (ports mode)


def _link_type(width: str, speed: str) -> tuple[IBWidth | None, IBSpeed | None]:
    w = None if width.startswith("?") else width_from_text(width)
    s = None if speed.startswith("?") else speed_from_compat(speed)
    return w, s


def parse_ibnetdiscover(text: str | bytes) -> FabricResult:
    """Nodes, ports and links from ``ibnetdiscover`` output, either format (detected line by
    line). Lines not understood are reported in ``problems`` with their numbers."""
    result = FabricResult()
    nodes: dict[str, _Node] = {}
    pending: list[_Pending] = []
    assigned: dict[str, tuple[str, str | None]] = {}
    current: _Node | None = None
    seen_ports: set[str] = set()

    def add_port(lineno: int, line: str, **values: object) -> None:
        port = build(result, lineno, line, IBPort, **values)
        if port is not None and port.id not in seen_ports:
            seen_ports.add(port.id)
            result.ports.append(port)

    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.rstrip()
        if not line.strip():
            current = None  # records end at a blank line
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _ASSIGN.match(line):
                assigned[m["key"]] = (m["value"], m["port"])
                continue
            if _SKIP.match(line):
                continue
            if m := _NODE.match(line):
                current = _node_record(result, lineno, line, m, assigned, nodes)
                assigned = {}
                continue
            if m := _PORTS_MODE.match(line):
                _ports_mode_line(result, lineno, line, m, add_port, pending)
                continue
            if current is not None:
                switch = current.node.node_type is IBNodeType.SWITCH
                port_line = (_SWITCH_PORT if switch else _CA_PORT).match(line)
                if port_line is not None:
                    _port_line(result, lineno, line, port_line, current, add_port, pending)
                    continue
            elif _SWITCH_PORT.match(line) or _CA_PORT.match(line):
                raise LineError("port line outside a node record")
            raise LineError("not an ibnetdiscover line")
        except LineError as exc:
            result.problem(lineno, line, str(exc))

    _resolve_links(result, nodes, pending)
    return result


def _node_record(
    result: FabricResult,
    lineno: int,
    line: str,
    m: re.Match[str],
    assigned: dict[str, tuple[str, str | None]],
    nodes: dict[str, _Node],
) -> _Node | None:
    node_type = _TYPES[m["type"].lower()]
    guid = normalise_guid(m["guid"])
    key = {"switch": "switchguid", "ca": "caguid", "router": "rtguid"}[node_type.value]
    port_guid = guid
    if key in assigned:
        if normalise_guid(assigned[key][0]) != guid:
            raise LineError(f"{key} {assigned[key][0]} does not match the node id")
        if assigned[key][1]:
            port_guid = normalise_guid(assigned[key][1])
    values: dict[str, object] = {
        "guid": guid,
        "node_type": node_type,
        "description": m["desc"],
        "ports": int(m["ports"]),
    }
    for name, field in (("vendid", "vendor_id"), ("devid", "device_id")):
        if name in assigned:
            values[field] = int(assigned[name][0], 0)
    if "sysimgguid" in assigned:
        values["system_image_guid"] = assigned["sysimgguid"][0]
    rest = (m["rest"] or "").strip()
    if node_type is IBNodeType.SWITCH:
        sw = _SWITCH_REST.match(rest)
        if m["desc"] is not None and not sw:
            raise LineError("switch record without 'base|enhanced port 0 lid N lmc M'")
        if sw:
            values |= {
                "lid": int(sw["lid"]),
                "lmc": int(sw["lmc"]),
                "enhanced_port0": sw["esp0"] == "enhanced",
            }
    else:
        if rest and rest != "(scp)":
            raise LineError(f"unexpected text after the node description: {rest!r}")
        split = split_description(m["desc"])
        if split is not None:
            values["host"], values["ca_name"] = split
    if guid in nodes:
        raise LineError(f"node {guid} is listed twice")
    node = build(result, lineno, line, IBNode, **values)
    if node is None:
        return None
    result.nodes.append(node)
    nodes[guid] = _Node(node, port_guid)
    return nodes[guid]


def _port_line(
    result: FabricResult,
    lineno: int,
    line: str,
    m: re.Match[str],
    current: _Node,
    add_port: Callable[..., None],
    pending: list[_Pending],
) -> None:
    node = current.node
    width, speed = _link_type(m["lw"], m["ls"])
    port = int(m["port"])
    if node.ports is not None and port > node.ports:
        raise LineError(f"port {port} but the node has {node.ports} ports")
    if node.node_type is IBNodeType.SWITCH:
        port_guid, lid, lmc = current.port_guid, node.lid, node.lmc
    else:
        port_guid, lid, lmc = normalise_guid(m["pguid"]), int(m["lid"]), int(m["lmc"])
    add_port(
        lineno,
        line,
        port_guid=port_guid,
        port=port,
        node_guid=node.guid,
        node_type=node.node_type,
        node_description=node.description,
        lid=lid,
        lmc=lmc,
        width=width,
        speed=speed,
    )
    pending.append(
        _Pending(
            lineno,
            line,
            (port_guid, port),
            normalise_guid(m["rguid"]),
            m["rkind"],
            int(m["rport"]),
            normalise_guid(m["rpguid"]) if m["rpguid"] else None,
            width,
            speed,
        )
    )


def _ports_mode_line(
    result: FabricResult,
    lineno: int,
    line: str,
    m: re.Match[str],
    add_port: Callable[..., None],
    pending: list[_Pending],
) -> None:
    node_type = _TYPES.get(m["type"].lower())
    connected = m["rpguid"] is not None
    # C14-24.2.1: an unconnected port's width and speed are not to be trusted
    width, speed = _link_type(m["lw"], m["ls"]) if connected else (None, None)
    desc = m["desc"] if connected else m["odesc"]
    add_port(
        lineno,
        line,
        port_guid=m["pguid"],
        port=int(m["port"]),
        node_type=node_type,
        node_description=desc,
        lid=int(m["lid"]),
        width=width,
        speed=speed,
    )
    if connected:
        link = build(
            result,
            lineno,
            line,
            IBLink,
            a_guid=m["pguid"],
            a_port=int(m["port"]),
            b_guid=m["rpguid"],
            b_port=int(m["rport"]),
            width=width,
            speed=speed,
        )
        if link is not None:
            pending.append(_Pending(lineno, line, ("", 0), "", "", 0, None, None, None, link))


def _resolve_links(result: FabricResult, nodes: dict[str, _Node], pending: list[_Pending]) -> None:
    links: dict[str, IBLink] = {}
    for p in pending:
        if p.link is not None:
            add_link(links, p.link, result, p.lineno, p.line)
            continue
        remote = nodes.get(p.remote_node)
        if p.remote_port_guid is not None:
            remote_guid = p.remote_port_guid
        elif remote is not None and remote.node.node_type is IBNodeType.SWITCH:
            remote_guid = remote.port_guid
        else:
            result.warning(
                p.lineno,
                p.line,
                f"link left out: the port GUID of {p.remote_kind}-{p.remote_node} port "
                f"{p.remote_port} is not in the output",
            )
            continue
        link = build(
            result,
            p.lineno,
            p.line,
            IBLink,
            a_guid=p.a[0],
            a_port=p.a[1],
            b_guid=remote_guid,
            b_port=p.remote_port,
            width=p.width,
            speed=p.speed,
        )
        if link is not None:
            add_link(links, link, result, p.lineno, p.line)
    result.links.extend(links.values())
