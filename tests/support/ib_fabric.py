"""Two-tier InfiniBand fat trees as ibsim net files, with the topology they describe.

A :class:`FatTree` names every switch and HCA, fixes their GUIDs, and lists every cable; its
:meth:`FatTree.netfile` is the text ``ibsim -s`` reads (the ibnetdiscover-like format with
ibsim's extensions: ``switchguid=``/``caguid=`` set the next node's GUID, ``vendid=``/``devid=``
its ids, ``w=``/``s=``/``e=`` on a port line the widths and speeds that port enables).
ibsim gives a switch one GUID for the node and its ports, and an HCA's port N the GUID
``node GUID + N``; the expected topology below follows that rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Cable", "FatTree", "SimNode", "fat_tree"]

MELLANOX = 0x02C9
QUANTUM_DEVID = 0xD2F0  # the Quantum HDR switch ASIC
CONNECTX6_DEVID = 0x101B

# ibsim's enable masks (PortInfo encodings)
WIDTH_1X, WIDTH_4X, WIDTH_1X_4X = 1, 2, 3
SPEED_SDR_DDR_QDR = 7
EXTSPEED_FDR_EDR_HDR = 7


@dataclass(frozen=True)
class SimNode:
    sim_id: str  # the quoted id in the net file
    kind: str  # "switch" | "ca"
    guid: int
    ports: int
    description: str
    host: str | None = None

    def port_guid(self, port: int) -> int:
        return self.guid if self.kind == "switch" else self.guid + port


@dataclass(frozen=True)
class Cable:
    a: str  # sim ids
    a_port: int
    b: str
    b_port: int
    #: width enable mask on both ends (None: the file's default, 1x/4x)
    width: int | None = None
    #: speed and extended-speed enable masks on both ends (None: the file's defaults)
    speed: int | None = None
    extspeed: int | None = None

    def options(self) -> str:
        opts = [
            f"{key}={value}"
            for key, value in (("w", self.width), ("s", self.speed), ("e", self.extspeed))
            if value is not None
        ]
        return "\t" + " ".join(opts) if opts else ""


@dataclass
class FatTree:
    leaves: int
    spines: int
    hosts_per_leaf: int
    hcas_per_host: int
    uplinks_per_spine: int
    nodes: dict[str, SimNode] = field(default_factory=dict)
    cables: list[Cable] = field(default_factory=list)

    @property
    def switches(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.kind == "switch"]

    @property
    def hcas(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.kind == "ca"]

    def by_guid(self) -> dict[int, SimNode]:
        return {n.guid: n for n in self.nodes.values()}

    def links(self) -> set[tuple[tuple[int, int], tuple[int, int]]]:
        """Every cable as a sorted pair of (node GUID, port)."""
        out = set()
        for c in self.cables:
            a = (self.nodes[c.a].guid, c.a_port)
            b = (self.nodes[c.b].guid, c.b_port)
            out.add((min(a, b), max(a, b)))
        return out

    def peer(self, sim_id: str, port: int) -> tuple[str, int] | None:
        for c in self.cables:
            if (c.a, c.a_port) == (sim_id, port):
                return c.b, c.b_port
            if (c.b, c.b_port) == (sim_id, port):
                return c.a, c.a_port
        return None

    def netfile(self) -> str:
        lines = [
            "# two-tier fat tree for ibsim",
            f"width={WIDTH_1X_4X}",
            f"speed={SPEED_SDR_DDR_QDR}",
            f"extspeed={EXTSPEED_FDR_EDR_HDR}",
            "",
        ]
        for node in self.nodes.values():
            lines.append(f"vendid={MELLANOX:#x}")
            if node.kind == "switch":
                lines.append(f"devid={QUANTUM_DEVID:#x}")
                lines.append(f"switchguid={node.guid:#x}")
                lines.append(f'Switch\t{node.ports} "{node.sim_id}"\t# "{node.description}"')
            else:
                lines.append(f"devid={CONNECTX6_DEVID:#x}")
                lines.append(f"caguid={node.guid:#x}")
                lines.append(f'Hca\t{node.ports} "{node.sim_id}"\t# "{node.description}"')
            for port in range(1, node.ports + 1):
                for c in self.cables:
                    if (c.a, c.a_port) == (node.sim_id, port):
                        far, far_port = c.b, c.b_port
                    elif (c.b, c.b_port) == (node.sim_id, port):
                        far, far_port = c.a, c.a_port
                    else:
                        continue
                    lines.append(f'[{port}]\t"{far}"[{far_port}]{c.options()}')
            lines.append("")
        return "\n".join(lines) + "\n"


def fat_tree(
    leaves: int = 8,
    spines: int = 4,
    hosts_per_leaf: int = 4,
    hcas_per_host: int = 2,
    uplinks_per_spine: int = 2,
    *,
    narrow: tuple[tuple[int, int], ...] = (),
    slow: tuple[tuple[int, int], ...] = (),
) -> FatTree:
    """A leaf/spine tree: every host's HCAs on one leaf, every leaf wired to every spine with
    ``uplinks_per_spine`` cables. ``narrow`` lists (leaf index, host index) whose first HCA is
    cabled with 1x only (a degraded-width link). HCA node descriptions read
    ``gpu-<leaf><host> mlx5_<n>`` as rdma-ndd writes them; ``slow`` lists those whose second
    HCA is cabled at QDR (no extended speeds). Switch descriptions follow the
    ``MF0;<name>:<model>/U1`` form of managed Mellanox switches."""
    tree = FatTree(leaves, spines, hosts_per_leaf, hcas_per_host, uplinks_per_spine)
    leaf_ports = hosts_per_leaf * hcas_per_host + spines * uplinks_per_spine
    spine_ports = leaves * uplinks_per_spine
    guid = 0x0C42A10300000000
    for s in range(spines):
        sid = f"spine{s + 1:02d}"
        tree.nodes[sid] = SimNode(sid, "switch", guid, max(spine_ports, 8), f"MF0;{sid}:MQM8700/U1")
        guid += 0x100
    for leaf in range(leaves):
        lid = f"leaf{leaf + 1:02d}"
        tree.nodes[lid] = SimNode(lid, "switch", guid, max(leaf_ports, 8), f"MF0;{lid}:MQM8700/U1")
        guid += 0x100
    hca_guid = 0xB8CEF60300000000
    for leaf in range(leaves):
        lid = f"leaf{leaf + 1:02d}"
        port = 1
        for h in range(hosts_per_leaf):
            host = f"gpu-{leaf + 1:02d}{h + 1:02d}"
            for n in range(hcas_per_host):
                cid = f"{host}-mlx5_{n}"
                tree.nodes[cid] = SimNode(cid, "ca", hca_guid, 1, f"{host} mlx5_{n}", host=host)
                hca_guid += 0x10
                width = WIDTH_1X if n == 0 and (leaf, h) in narrow else None
                qdr = n == 1 and (leaf, h) in slow
                tree.cables.append(
                    Cable(
                        lid,
                        port,
                        cid,
                        1,
                        width,
                        speed=SPEED_SDR_DDR_QDR if qdr else None,
                        extspeed=0 if qdr else None,
                    )
                )
                port += 1
        for s in range(spines):
            for u in range(uplinks_per_spine):
                tree.cables.append(
                    Cable(lid, port, f"spine{s + 1:02d}", leaf * uplinks_per_spine + u + 1)
                )
                port += 1
    return tree
