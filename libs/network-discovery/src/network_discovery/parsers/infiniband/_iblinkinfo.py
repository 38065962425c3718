"""``iblinkinfo``: every port's state, width and speed, its peer, and the "Could be" hints
(the widest/fastest both ends support, printed when the link runs below it).

Two layouts: the default one groups ports under ``Switch: 0x<GUID> <name>:`` / ``CA: <name>:``
headers; ``--line`` (``-l``) prints one self-contained line per port, with both port GUIDs.
Without ``--line`` a peer is named only by LID, port and description: its port GUID is looked
up among the ports of the same output by LID (when a subnet manager assigned LIDs, unique)
or else by description (when unique); a peer found neither way is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from network_discovery.model.fabric import (
    IBLink,
    IBNodeType,
    IBPort,
    IBSpeed,
    IBWidth,
    normalise_guid,
)
from network_discovery.parsers.infiniband._common import (
    MAX_LINE_CHARS,
    FabricResult,
    LineError,
    add_link,
    build,
    phys_state,
    port_state,
    speed_from_gbps,
    width_from_text,
)
from network_discovery.parsers.infiniband._common import split_lines as _split

__all__ = ["parse_iblinkinfo"]

_HEADER_SWITCH = re.compile(
    r"^(?P<prefix>\S*?)Switch:\s+0x(?P<guid>[0-9a-fA-F]{16})\s(?P<desc>.*):$"
)
_HEADER_OTHER = re.compile(r"^(?P<prefix>\S*?)(?P<type>CA|Router|\?\?):\s(?P<desc>.*):$")
_LINK = (
    r"==\(\s*(?:(?P<width>\d+X|undefined \(\d+\))\s+"
    r"(?P<speed>[0-9.]+ Gbps(?: \(\w+\))?|No Extended Speed|undefined \(\d+\))\s+)?"
    r"(?P<state>\w+)/\s*(?P<phys>\w+)\)(?: \(HOQ:\d+ VL_Stall:\d+\))?==>\s+(?P<remote>.*)$"
)
_PORT = re.compile(
    r"^\s+(?:0x(?P<pguid>[0-9a-fA-F]{16})\s+)?(?P<lid>\d+)\s+(?P<port>\d+)\[\s*\d*\]\s+" + _LINK
)
_LINE_MODE = re.compile(
    r'^0x(?P<pguid>[0-9a-fA-F]{16})\s+"(?P<desc>.*?)"\s+(?P<lid>\d+)\s+(?P<port>\d+)\[\s*\d*\]\s+'
    + _LINK
)
_REMOTE = re.compile(
    r"^(?:0x(?P<rguid>[0-9a-fA-F]{16})\s+)?(?P<rlid>\d+)\s+(?P<rport>\d+)\[\s*\d*\]\s+"
    r'"(?P<rdesc>.*)"\s+\((?P<hints>[^"]*)\)$'
)
_REMOTE_NONE = re.compile(r'^(?:\[\s*\]\s+""\s+\(\s*\)|"Port not available")$')
_WIDTH_HINT = re.compile(r"Could be (\d+X)")
_SPEED_HINT = re.compile(r"Could be ([0-9.]+ Gbps(?: \(\w+\))?|FDR10)")
_TYPES = {"CA": IBNodeType.CA, "Router": IBNodeType.ROUTER}


@dataclass
class _Peer:
    lineno: int
    line: str
    local: tuple[str, int]
    guid: str | None
    lid: int
    port: int
    description: str
    width: IBWidth | None
    speed: IBSpeed | None


def _hints(text: str) -> tuple[IBWidth | None, IBSpeed | None]:
    width = _WIDTH_HINT.search(text)
    speed = _SPEED_HINT.search(text)
    rest = _SPEED_HINT.sub("", _WIDTH_HINT.sub("", text))
    rest = rest.replace("(Found link at QDR but expected speed is FDR10)", "").strip()
    if rest:
        raise LineError(f"unknown hint {rest!r}")
    w = width_from_text(width.group(1)) if width else None
    s = None
    if speed:
        s = IBSpeed.FDR10 if speed.group(1) == "FDR10" else speed_from_gbps(speed.group(1))
    return w, s


def parse_iblinkinfo(text: str | bytes) -> FabricResult:
    """Ports (with state, physical state, width, speed, hints) and links from ``iblinkinfo``
    output, either layout. Node records are not produced: iblinkinfo does not print a channel
    adapter's node GUID (ports carry the node's type and description instead)."""
    result = FabricResult()
    peers: list[_Peer] = []
    seen: set[str] = set()
    header: tuple[IBNodeType, str | None, str] | None = None
    for lineno, raw in enumerate(_split(text), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _HEADER_SWITCH.match(line):
                header = (IBNodeType.SWITCH, normalise_guid(m["guid"]), m["desc"])
                continue
            if m := _HEADER_OTHER.match(line):
                header = (_TYPES.get(m["type"], IBNodeType.CA), None, m["desc"])
                if m["type"] == "??":
                    raise LineError("node of unknown type")
                continue
            if m := _LINE_MODE.match(line):
                values = {
                    "port_guid": m["pguid"],
                    "node_description": m["desc"].strip(),
                }
            elif (m := _PORT.match(line)) and header is not None:
                node_type, sw_guid, desc = header
                if node_type is IBNodeType.SWITCH:
                    if m["pguid"]:
                        raise LineError("a switch port line carries a port GUID")
                    guid = sw_guid
                elif not m["pguid"]:
                    raise LineError("a channel adapter port line without its port GUID")
                else:
                    guid = m["pguid"]
                values = {"port_guid": guid, "node_type": node_type, "node_description": desc}
            elif m:
                raise LineError("port line before any Switch:/CA: header")
            else:
                raise LineError("not an iblinkinfo line")
            _port(result, lineno, line, m, values, seen, peers)
        except LineError as exc:
            result.problem(lineno, line, str(exc))
    _resolve(result, peers)
    return result


def _port(
    result: FabricResult,
    lineno: int,
    line: str,
    m: re.Match[str],
    values: dict[str, object],
    seen: set[str],
    peers: list[_Peer],
) -> None:
    state = port_state(m["state"])
    phys = phys_state(m["phys"])
    width = speed = None
    if m["width"] and not m["width"].startswith("undefined"):
        width = width_from_text(m["width"])
    if m["speed"] and not m["speed"].startswith(("undefined", "No Extended")):
        speed = speed_from_gbps(m["speed"])
    remote = m["remote"].strip()
    width_hint = speed_hint = None
    r = _REMOTE.match(remote)
    if r:
        width_hint, speed_hint = _hints(r["hints"])
    elif not _REMOTE_NONE.match(remote):
        raise LineError(f"unknown peer {remote!r}")
    port = build(
        result,
        lineno,
        line,
        IBPort,
        **values,
        port=int(m["port"]),
        lid=int(m["lid"]),
        state=state,
        phys_state=phys,
        width=width,
        speed=speed,
        width_could_be=width_hint,
        speed_could_be=speed_hint,
    )
    if port is None:
        return
    if port.id in seen:
        raise LineError(f"port {port.port} of {port.port_guid} is listed twice")
    seen.add(port.id)
    result.ports.append(port)
    if r:
        peers.append(
            _Peer(
                lineno,
                line,
                (port.port_guid, port.port),
                normalise_guid(r["rguid"]) if r["rguid"] else None,
                int(r["rlid"]),
                int(r["rport"]),
                r["rdesc"],
                width,
                speed,
            )
        )


def _resolve(result: FabricResult, peers: list[_Peer]) -> None:
    """Find each peer's port GUID (``--line`` prints it; otherwise by LID or description)."""
    by_lid: dict[tuple[int, int], set[str]] = {}
    by_desc: dict[tuple[str, int], set[str]] = {}
    for p in result.ports:
        if p.lid:
            by_lid.setdefault((p.lid, p.port), set()).add(p.port_guid)
        if p.node_description is not None:
            by_desc.setdefault((p.node_description, p.port), set()).add(p.port_guid)
    links: dict[str, IBLink] = {}
    for peer in peers:
        guid = peer.guid
        if guid is None:
            found = by_lid.get((peer.lid, peer.port), set()) if peer.lid else set()
            if len(found) != 1:
                found = by_desc.get((peer.description.strip(), peer.port), set())
            if len(found) != 1:
                why = "not among the ports listed" if not found else "ambiguous (LID 0, same name)"
                result.warning(
                    peer.lineno,
                    peer.line,
                    f"link left out: peer lid {peer.lid} port {peer.port} "
                    f"{peer.description!r} {why}",
                )
                continue
            guid = next(iter(found))
        link = build(
            result,
            peer.lineno,
            peer.line,
            IBLink,
            a_guid=peer.local[0],
            a_port=peer.local[1],
            b_guid=guid,
            b_port=peer.port,
            width=peer.width,
            speed=peer.speed,
        )
        if link is not None:
            add_link(links, link, result, peer.lineno, peer.line)
    result.links.extend(links.values())
