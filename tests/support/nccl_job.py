"""NCCL_DEBUG=INFO logs written for a job layout chosen here, in the line spellings of NCCL
2.1x and 2.2x, with what the log must yield: every rank's host, GPU and HCA ports.

The layout: ``hosts`` hosts of ``gpus`` GPUs, one rank per GPU (rank = host * gpus +
local GPU), one HCA per GPU (``mlx5_<local GPU>`` port 1). Two rings: channel 0 in rank
order, channel 1 visiting each host's GPUs from the middle on, so that different GPUs cross
between hosts; each crossing is a NET/IB connection through the sender's and the receiver's
own HCA. One tree per channel: a chain through each host, host heads chained to each other.
Lines of all ranks are interleaved deterministically, as a job's merged output would be.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["BUS_IDS", "ExpectedRank", "NcclJobLog", "write_job_log"]

#: NCCL's packed bus ids of the eight GPUs of a host (0000:18:00.0, 0000:2a:00.0, ...).
BUS_IDS = ("18000", "2a000", "3a000", "5d000", "9a000", "ab000", "ba000", "db000")


@dataclass
class ExpectedRank:
    host: str
    cuda_dev: int
    bus_id: str
    hcas: set[str] = field(default_factory=set)


@dataclass
class NcclJobLog:
    text: str
    ranks: dict[int, ExpectedRank]
    net_edges: int
    p2p_edges: int
    version: str
    comm_id: str | None


def _dump_line(prefix: str, ranks: list[int]) -> str:
    """A ring order as NCCL's dumpLine prints it: every rank right-aligned to the width of
    the largest, the line cut at 127 characters with ``...`` over its end."""
    width = len(str(len(ranks) - 1))
    line = prefix + "".join(f" {r:>{width}}" for r in ranks)
    return line if len(line) < 128 else line[:124] + "..."


def _order(channel: int, hosts: int, gpus: int) -> list[int]:
    if channel == 0:
        return list(range(hosts * gpus))
    half = gpus // 2
    local = list(range(half, gpus)) + list(range(half))
    return [h * gpus + g for h in range(hosts) for g in local]


def write_job_log(
    *, hosts: int = 4, gpus: int = 8, style: str = "2.2x", seed: int = 7
) -> NcclJobLog:
    """The merged log of a job of ``hosts`` x ``gpus`` ranks in the given NCCL ``style``."""
    nranks = hosts * gpus
    names = [f"gpu-node-{h + 1:02d}" for h in range(hosts)]
    version = "2.21.5+cuda12.4" if style == "2.2x" else "2.12.12+cuda11.7"
    comm_id = "0x5ae77eb5ea4ec1ee" if style == "2.2x" else None
    ranks = {
        r: ExpectedRank(names[r // gpus], r % gpus, f"0000:{BUS_IDS[r % gpus][:2]}:00.0")
        for r in range(nranks)
    }
    lines: list[tuple[int, int, str]] = []  # (rank, order within the rank, text)

    def say(rank: int, seq: int, message: str) -> None:
        host, dev = names[rank // gpus], rank % gpus
        pid = 4000 + rank
        lines.append((rank, seq, f"{host}:{pid}:{pid + 100} [{dev}] NCCL INFO {message}"))

    hca_list = " ".join(f"[{i}]mlx5_{i}:1/IB" for i in range(gpus))
    net_edges = p2p_edges = 0
    for rank in range(nranks):
        dev, bus = rank % gpus, BUS_IDS[rank % gpus]
        say(rank, 0, f"Bootstrap : Using eth0:10.0.{rank // gpus}.1<0>")
        if rank == 0:
            say(rank, 1, f"NCCL version {version}")
        say(rank, 2, f"NET/IB : Using {hca_list} [RO]; OOB eth0:10.0.{rank // gpus}.1<0>")
        say(rank, 3, "Using network IB")
        if style == "2.2x":
            say(
                rank,
                4,
                f"ncclCommInitRank comm 0x55d0c0{rank:04x} rank {rank} nranks {nranks} "
                f"cudaDev {dev} nvmlDev {dev} busId {bus} commId {comm_id} - Init START",
            )
            say(
                rank,
                5,
                f"comm 0x55d0c0{rank:04x} rank {rank} nRanks {nranks} nNodes {hosts} "
                f"localRanks {gpus} localRank {dev} MNNVL 0",
            )
        say(rank, 6, f"Setting affinity for GPU {dev} to 0-31,64-95")
    for channel in (0, 1):
        order = _order(channel, hosts, gpus)
        say(0, 10 + channel, _dump_line(f"Channel {channel:02d}/02 :", order))
        for i, src in enumerate(order):
            dst = order[(i + 1) % nranks]
            if src // gpus == dst // gpus:
                p2p_edges += 1
                if style == "2.2x":
                    say(
                        src,
                        20 + channel,
                        f"Channel {channel:02d}/0 : {src}[{src % gpus}] -> {dst}[{dst % gpus}] "
                        "via P2P/CUMEM/read",
                    )
                else:
                    say(
                        src,
                        20 + channel,
                        f"Channel {channel:02d} : {src}[{BUS_IDS[src % gpus]}] -> "
                        f"{dst}[{BUS_IDS[dst % gpus]}] via P2P/IPC",
                    )
                continue
            net_edges += 2
            ranks[src].hcas.add(f"mlx5_{src % gpus}:1")
            ranks[dst].hcas.add(f"mlx5_{dst % gpus}:1")
            if style == "2.2x":
                a, b = f"{src}[{src % gpus}]", f"{dst}[{dst % gpus}]"
                tag = f"Channel {channel:02d}/0"
            else:
                a, b = f"{src}[{BUS_IDS[src % gpus]}]", f"{dst}[{BUS_IDS[dst % gpus]}]"
                tag = f"Channel {channel:02d}"
            say(src, 30 + channel, f"{tag} : {a} -> {b} [send] via NET/IB/{src % gpus}/GDRDMA")
            say(dst, 30 + channel, f"{tag} : {a} -> {b} [receive] via NET/IB/{dst % gpus}/GDRDMA")
    for rank in range(nranks):
        host, local = divmod(rank, gpus)
        parent = rank - 1 if local else ((host - 1) * gpus if host else -1)
        kids = [rank + 1] if local < gpus - 1 else []
        if local == 0 and host < hosts - 1:
            kids.append(rank + gpus)
        spec = "/".join(str(k) for k in [*kids, -1, -1, -1][:3]) + f"->{rank}->{parent}"
        say(rank, 40, f"Trees [0] {spec} [1] {spec}")
        say(rank, 41, "Connected all rings")
        dev, bus = rank % gpus, BUS_IDS[rank % gpus]
        if style == "2.2x":
            say(
                rank,
                50,
                f"ncclCommInitRank comm 0x55d0c0{rank:04x} rank {rank} nranks {nranks} "
                f"cudaDev {dev} nvmlDev {dev} busId {bus} commId {comm_id} - Init COMPLETE",
            )
            say(
                rank,
                51,
                f"Init timings - ncclCommInitRank: rank {rank} nranks {nranks} total "
                "0.52 (kernels 0.10, alloc 0.01, bootstrap 0.02, allgathers 0.01, topo 0.20, "
                "graphs 0.01, connections 0.15, rest 0.02)",
            )
        else:
            say(
                rank,
                50,
                f"comm 0x7f5780{rank:04x} rank {rank} nranks {nranks} cudaDev {dev} "
                f"busId {bus} - Init COMPLETE",
            )
    shuffle = random.Random(seed)
    keys = {r: shuffle.random() for r in range(nranks)}
    lines.sort(key=lambda item: (item[1], keys[item[0]]))
    return NcclJobLog(
        text="\n".join(text for _, _, text in lines) + "\n",
        ranks=ranks,
        net_edges=net_edges,
        p2p_edges=p2p_edges,
        version=version,
        comm_id=comm_id,
    )
