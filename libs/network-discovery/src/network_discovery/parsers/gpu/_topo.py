"""``nvidia-smi topo -m``: how each GPU reaches the other GPUs and the RDMA NICs of its host.

The matrix's header names the columns (``GPU0``, ``NIC0`` or ``mlx5_0``), then ``CPU
Affinity`` and the NUMA columns; the ``NIC Legend`` (newer drivers) names each ``NICn``.
Cells are ``X`` (self), ``NV#`` (# bonded NVLinks), ``PIX``, ``PXB``, ``PHB``, ``NODE``,
``SYS`` (``SOC`` in old drivers). A cell outside that vocabulary is reported and no link
is made of it.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from network_discovery.model.gpu import GpuNicAffinity, GpuPeerLink, TopoConnection
from network_discovery.parsers.gpu._common import GpuFacts, check_size

__all__ = ["parse_topo_matrix"]

_GPU = re.compile(r"^GPU(\d{1,4})$")
_NIC = re.compile(r"^NIC(\d{1,4})$")
_DEVICE = re.compile(r"^(?:GPU\d{1,4}|NIC\d{1,4}|mlx\d_\d{1,4}|[a-z][a-z0-9_]*_\d{1,4})$")
_LEGEND = re.compile(r"^\s*(NIC\d{1,4})\s*:\s*(\S+)\s*$")
_CELL = re.compile(r"^(?:X|NV(\d{1,2})|PIX|PXB|PHB|NODE|SYS|SOC)$")
_MAX_ROWS = 1024


def _connection(cell: str) -> tuple[TopoConnection, int | None] | None:
    found = _CELL.match(cell)
    if found is None or cell == "X":
        return None
    if found[1] is not None:
        return TopoConnection.NVLINK, int(found[1])
    return TopoConnection("SYS" if cell == "SOC" else cell), None


def parse_topo_matrix(text: str, *, host: str, source: str = "nvidia-smi topo -m") -> GpuFacts:
    """GPU↔NIC affinities and GPU↔GPU paths of one host."""
    check_size(text, source)
    facts = GpuFacts(source=source)
    lines = text.splitlines()
    legend: dict[str, str] = {}
    for raw in lines:
        found = _LEGEND.match(raw)
        if found:
            legend[found[1]] = found[2]
    header: list[str] | None = None
    rows = 0
    links: set[tuple[int, int]] = set()
    nic_pairs: set[tuple[int, str]] = set()
    for number, raw in enumerate(lines, start=1):
        tokens = raw.split()
        if not tokens:
            continue
        if header is None:
            # the header starts with GPU0 as a row does; a row goes on with a cell, the
            # header with another device or "CPU Affinity"
            if _GPU.match(tokens[0]) and (
                len(tokens) == 1 or tokens[1] == "CPU" or _DEVICE.match(tokens[1])
            ):
                header = _leading_devices(tokens)
            continue
        if tokens[0] == "Legend:" or tokens[0] == "NIC":
            break
        if not _DEVICE.match(tokens[0]):
            facts.issue(f"row {tokens[0]!r} is not a GPU or NIC row", line=number)
            continue
        rows += 1
        if rows > _MAX_ROWS:
            facts.issue(f"more than {_MAX_ROWS} rows; the rest is not read", line=number)
            break
        _row(facts, host, header, tokens, number, legend, links, nic_pairs)
    if header is None:
        facts.issue("no matrix header (a line starting with GPU0)")
    return facts


def _leading_devices(tokens: list[str]) -> list[str]:
    devices = []
    for token in tokens:
        if not _DEVICE.match(token):
            break
        devices.append(token)
    return devices


def _nic_name(name: str, legend: dict[str, str]) -> str | None:
    if _NIC.match(name):
        return legend.get(name)
    return None if _GPU.match(name) else name


def _row(
    facts: GpuFacts,
    host: str,
    header: list[str],
    tokens: list[str],
    number: int,
    legend: dict[str, str],
    links: set[tuple[int, int]],
    nic_pairs: set[tuple[int, str]],
) -> None:
    row = tokens[0]
    cells = tokens[1 : 1 + len(header)]
    row_gpu = _GPU.match(row)
    for column, cell in zip(header, cells, strict=False):
        if column == row:
            if cell != "X":
                facts.issue(f"{row} against itself is {cell!r}, not X", line=number)
            continue
        kind = _connection(cell)
        if kind is None:
            if cell != "X":
                facts.issue(f"{row}/{column}: {cell!r} is not a topology path", line=number)
            continue
        column_gpu = _GPU.match(column)
        try:
            if row_gpu and column_gpu:
                a, b = sorted((int(row_gpu[1]), int(column_gpu[1])))
                if (a, b) not in links:
                    links.add((a, b))
                    facts.peer_links.append(
                        GpuPeerLink(
                            host=host, gpu_a=a, gpu_b=b, connection=kind[0], nvlinks=kind[1]
                        )
                    )
                continue
            gpu_match, nic = (row_gpu, column) if row_gpu else (column_gpu, row)
            if gpu_match is None:
                continue  # NIC against NIC
            name = _nic_name(nic, legend)
            if name is None:
                facts.issue(f"{nic} has no entry in the NIC Legend", line=number)
                continue
            pair = (int(gpu_match[1]), name)
            if pair not in nic_pairs:
                nic_pairs.add(pair)
                facts.affinities.append(
                    GpuNicAffinity(host=host, gpu_index=pair[0], hca=name, connection=kind[0])
                )
        except ValidationError as exc:
            facts.issue(f"{row}/{column}: {exc.errors()[0]['msg']}", line=number)
