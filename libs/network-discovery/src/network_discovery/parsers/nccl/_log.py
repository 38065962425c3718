"""``NCCL_DEBUG=INFO`` logs: the job's ranks, where each ran, its rings and trees, and the
HCA port each network connection goes through.

A line is ``host:pid:tid [cudaDev] NCCL INFO message`` (the ``host:pid:tid`` part may be
missing; launcher prefixes such as ``[1,0]<stdout>:`` or ``0:`` are removed). The messages
read are those that place ranks and connections, in the spellings of NCCL 2.4 to 2.2x; every
other NCCL message is counted and reported, never guessed at. A channel's ``NET/IB/3`` names
the fourth device of the printing process's ``NET/IB : Using`` list: that is how a
connection gets its HCA port.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from network_discovery.model.nccl import (
    HcaPort,
    NcclChannelEdge,
    NcclJob,
    NcclRank,
    NcclRing,
    NcclTransport,
    NcclTreeNode,
)
from network_discovery.parsers.gpu._common import MAX_ISSUES, check_size
from network_discovery.parsers.nccl._messages import (
    COMM_LOCAL,
    EDGE,
    INIT,
    KNOWN,
    NET_IB,
    NET_SOCKET,
    NETWORK,
    RING_ORDER,
    TREES,
    VERSION,
    init_details,
    nccl_bus_id,
    parse_tree,
    parse_via,
)
from network_discovery.parsers.report import ParseIssue

__all__ = ["NcclFacts", "parse_nccl_log"]

_LAUNCHER = re.compile(
    r"^(?:\[\d+,\d+\]<std(?:out|err)>:|\[default\d+\]:|\d{1,6}:\s"
    r"|\[\d{1,7}\]\s+(?=[A-Za-z0-9][\w.-]*:\d+:\d+\s))"
)
_LINE = re.compile(
    r"^\s*(?:(?P<host>[A-Za-z0-9][\w.-]{0,252}):(?P<pid>\d{1,10}):(?P<tid>\d{1,10})\s+)?"
    r"\[(?P<dev>\d{1,4})\]\s+NCCL\s+(?P<level>INFO|WARN|TRACE)\s+(?P<msg>.*?)\s*$"
)
_BARE_VERSION = re.compile(r"^\s*NCCL version (\S+)\s*$")
_MAX_LINE = 16_384

Process = tuple[str | None, int | None]


@dataclass
class NcclFacts:
    """A job read from its logs, and what was not understood."""

    source: str
    job: NcclJob | None = None
    ranks: list[NcclRank] = field(default_factory=list)
    edges: list[NcclChannelEdge] = field(default_factory=list)
    rings: list[NcclRing] = field(default_factory=list)
    trees: list[NcclTreeNode] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    #: NCCL INFO messages of kinds this parser does not read (counted, first ones reported).
    unread_messages: int = 0
    #: Lines that are not NCCL's at all (application output).
    other_lines: int = 0
    _dropped: int = 0

    def issue(self, message: str, *, line: int | None = None, severity: str = "error") -> None:
        if len(self.issues) < MAX_ISSUES:
            level: Literal["error", "warning"] = "warning" if severity == "warning" else "error"
            self.issues.append(
                ParseIssue(file=self.source, message=message, line=line, severity=level)
            )
        else:
            self._dropped += 1


@dataclass(frozen=True)
class _Init:
    """What an Init line (or, alone, a localRank line) says of one rank."""

    rank: int
    nranks: int
    cuda: int
    nvml: int | None
    bus: str | None
    comm: str | None
    process: Process
    dev: int


@dataclass
class _State:
    version: str | None = None
    network: str | None = None
    hosts: set[str] = field(default_factory=set)
    #: (process, network name) → the devices its ``NET/<name> : Using`` line lists.
    net_devs: dict[tuple[Process, str], dict[int, HcaPort]] = field(default_factory=dict)
    init: dict[tuple[str, int], _Init] = field(default_factory=dict)
    #: (host, pid, cudaDev) → (localRank, localRanks, rank, nRanks) from 2.19+ lines.
    local: dict[tuple[str | None, int | None, int], tuple[int, int, int, int]] = field(
        default_factory=dict
    )
    edges: list[tuple[dict[str, object], Process, int, int]] = field(default_factory=list)
    #: (channel, ranks in order) → whether NCCL printed the whole ring.
    rings: dict[tuple[int, tuple[int, ...]], bool] = field(default_factory=dict)
    trees: dict[tuple[int, int], tuple[int | None, tuple[int, ...]]] = field(default_factory=dict)
    comm_ids: set[str] = field(default_factory=set)


def parse_nccl_log(text: str, *, job_id: str, source: str = "NCCL log") -> NcclFacts:
    """The job ``job_id`` as its ``NCCL_DEBUG=INFO`` log shows it (one file, or the logs of
    every rank put together)."""
    check_size(text, source)
    facts = NcclFacts(source=source)
    state = _State()
    unread_reported = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if len(raw) > _MAX_LINE:
            facts.issue(f"line longer than {_MAX_LINE} characters: not read", line=number)
            continue
        line = _LAUNCHER.sub("", raw, count=1)
        found = _LINE.match(line)
        if found is None:
            bare = _BARE_VERSION.match(line)
            if bare:
                state.version = state.version or bare[1]
            elif line.strip():
                facts.other_lines += 1
            continue
        host = found["host"].lower() if found["host"] else None
        if host:
            state.hosts.add(host)
        process: Process = (host, int(found["pid"]) if found["pid"] else None)
        dev = int(found["dev"])
        message = found["msg"]
        if found["level"] == "WARN":
            if len(facts.warnings) < MAX_ISSUES:
                facts.warnings.append(f"{host or '?'} [{dev}] {message}"[:512])
            continue
        if not _read(facts, state, message, process, dev, number):
            facts.unread_messages += 1
            if unread_reported < 50:
                unread_reported += 1
                facts.issue(
                    f"NCCL message not read: {message[:100]!r}", line=number, severity="warning"
                )
    if facts.other_lines:
        facts.issue(
            f"{facts.other_lines} lines are not NCCL log lines (left out)", severity="warning"
        )
    _finish(facts, state, job_id)
    return facts


def _read(
    facts: NcclFacts, state: _State, message: str, process: Process, dev: int, line: int
) -> bool:
    """Take one NCCL INFO message; False when it is of no kind this parser reads."""
    if found := VERSION.match(message):
        state.version = state.version or found[1]
        return True
    if found := NET_IB.match(message):
        ports: dict[int, HcaPort] = {}
        for index, device, port, layer in re.findall(
            r"\[(\d+)\]([\w.-]+):(\d+)/(IB|RoCE)", found[2]
        ):
            try:
                ports[int(index)] = HcaPort(device=device, port=int(port), link_layer=layer)
            except ValidationError:
                facts.issue(f"HCA {device}:{port} is not a device name and port", line=line)
        if not ports:
            facts.issue("NET/IB line lists no device", line=line)
        state.net_devs[(process, found[1])] = ports
        state.network = state.network or found[1]
        return True
    if NET_SOCKET.match(message):
        state.network = state.network or "Socket"
        return True
    if found := NETWORK.match(message):
        state.network = found[1]
        return True
    if found := INIT.match(message):
        _init(state, found, process, dev)
        return True
    if found := COMM_LOCAL.match(message):
        state.local[(process[0], process[1], dev)] = (
            int(found["local"]),
            int(found["locals"]),
            int(found["rank"]),
            int(found["nranks"]),
        )
        return True
    if found := EDGE.match(message):
        state.edges.append((found.groupdict(), process, dev, line))
        return True
    if found := RING_ORDER.match(message):
        ranks = [int(r) for r in found["ranks"].split()]
        complete = found["cut"] is None
        if not complete and not found["cut"][0].isspace():
            ranks.pop()  # "..." took the end of this number
        state.rings[(int(found["channel"]), tuple(ranks))] = complete
        return True
    if found := TREES.match(message):
        for channel, spec in re.findall(r"\[(\d+)\]\s+(\S+)", found[1]):
            tree = parse_tree(spec)
            if tree is None:
                facts.issue(f"tree {spec!r} is in no known form", line=line)
                continue
            rank, parent, children = tree
            state.trees.setdefault((int(channel), rank), (parent, children))
        return True
    return any(pattern.match(message) for pattern in KNOWN)


def _init(state: _State, found: re.Match[str], process: Process, dev: int) -> None:
    nvml, bus, comm = init_details(found["rest"])
    if comm:
        state.comm_ids.add(comm)
    key = (comm or f"n{found['nranks']}", int(found["rank"]))
    state.init[key] = _Init(
        int(found["rank"]), int(found["nranks"]), int(found["cuda"]), nvml, bus, comm, process, dev
    )


def _finish(facts: NcclFacts, state: _State, job_id: str) -> None:
    by_process: dict[tuple[str | None, int | None, int], set[HcaPort]] = defaultdict(set)
    seen_edges: set[tuple[object, ...]] = set()
    for groups, process, dev, line in state.edges:
        edge = _edge(facts, state, job_id, groups, process, line)
        if edge is None:
            continue
        key = (
            edge.kind,
            edge.channel,
            edge.src_rank,
            edge.dst_rank,
            edge.direction,
            edge.via,
            edge.host,
        )
        if key in seen_edges:
            continue
        seen_edges.add(key)
        facts.edges.append(edge)
        if edge.hca_port is not None:
            by_process[(process[0], process[1], dev)].add(edge.hca_port)
    nranks = 0
    placed = {(i.process, i.dev) for i in state.init.values()}
    for (host, pid, gpu), (_, _, rank_number, size) in state.local.items():
        if ((host, pid), gpu) not in placed:  # a rank seen only on its localRank line
            state.init[(f"n{size}", rank_number)] = _Init(
                rank_number, size, gpu, None, None, None, (host, pid), gpu
            )
    for info in state.init.values():
        process, gpu = info.process, info.dev
        local = state.local.get((process[0], process[1], gpu))
        try:
            rank = NcclRank(
                job_id=job_id,
                rank=info.rank,
                nranks=info.nranks,
                host=process[0],
                pid=process[1],
                cuda_dev=info.cuda,
                nvml_dev=info.nvml,
                bus_id=nccl_bus_id(info.bus) if info.bus else None,
                local_rank=local[0] if local else None,
                local_ranks=local[1] if local else None,
                comm_id=info.comm,
                hca_ports=tuple(
                    sorted(
                        by_process.get((process[0], process[1], gpu), set()), key=lambda p: p.name
                    )
                ),
            )
        except (ValidationError, ValueError) as exc:
            facts.issue(f"rank {info.rank}: {exc}")
            continue
        nranks = max(nranks, rank.nranks)
        facts.ranks.append(rank)
    facts.ranks.sort(key=lambda r: (r.comm_id or "", r.nranks, r.rank))
    for (channel, ranks), complete in state.rings.items():
        facts.rings.append(NcclRing(job_id=job_id, channel=channel, ranks=ranks, complete=complete))
    for (channel, rank_number), (parent, children) in sorted(state.trees.items()):
        facts.trees.append(
            NcclTreeNode(
                job_id=job_id, channel=channel, rank=rank_number, parent=parent, children=children
            )
        )
    facts.job = NcclJob(
        id=job_id,
        nranks=nranks or None,
        hosts=tuple(sorted(state.hosts)),
        nccl_version=state.version,
        comm_ids=tuple(sorted(state.comm_ids)),
        network=state.network,
    )


def _edge(
    facts: NcclFacts,
    state: _State,
    job_id: str,
    groups: dict[str, object],
    process: Process,
    line: int,
) -> NcclChannelEdge | None:
    via = str(groups["via"])
    transport, net, net_dev, gdr = parse_via(via)
    if transport is NcclTransport.UNKNOWN:
        facts.issue(f"transport {via!r} is of no known kind", line=line, severity="warning")
    direction = groups.get("direction")
    hca = None
    if transport is NcclTransport.NET and net and net.startswith("IB") and net_dev is not None:
        hca = state.net_devs.get((process, net), {}).get(net_dev)
        if hca is None:
            facts.issue(
                f"NET/{net} device {net_dev} is not in this process's NET/{net} list",
                line=line,
                severity="warning",
            )
    try:
        return NcclChannelEdge(
            job_id=job_id,
            kind="ring" if groups["kind"] == "Ring" else "channel",
            channel=int(str(groups["channel"])),
            src_rank=int(str(groups["src"])),
            dst_rank=int(str(groups["dst"])),
            src_device=groups.get("src_dev"),
            dst_device=groups.get("dst_dev"),
            transport=transport,
            via=via,
            net=net,
            net_dev=net_dev,
            gdr=gdr,
            direction=direction,
            hca_port=hca,
            host=process[0],
        )
    except ValidationError as exc:
        facts.issue(f"connection not read: {exc.errors()[0]['msg']}", line=line)
        return None
