"""The path of a failing probe: graph-engine's ``path_analysis`` from the probe's source to
its target, reduced to the verdict, the hops, and the hop where a route or a filter stops it.

When graph-engine is not configured, not reachable, or does not know the addresses, the path
says ``unknown`` with the reason: a path is never guessed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import quote

import httpx

from meshq_prober.checks import Outcome
from meshq_prober.definitions import DnsProbe, HttpProbe, IcmpProbe, TcpProbe

__all__ = ["PathExplainer", "flow_of", "summarise"]

#: The most hops kept with a result.
MAX_HOPS = 64


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _local_toward(address: str) -> str | None:
    """The address the kernel would send from toward ``address`` (nothing is sent)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((address, 9))
            return str(sock.getsockname()[0])
    except OSError:
        return None


def flow_of(
    spec: IcmpProbe | TcpProbe | HttpProbe | DnsProbe, outcome: Outcome
) -> dict[str, Any] | str:
    """path_analysis's parameters for the probe, or why there are none."""
    destination = outcome.detail.get("address")
    if not destination:
        return "the target's name did not resolve: no address to trace"
    params: dict[str, Any] = {"destination": destination}
    source = spec.source
    start = None
    if source and _is_address(source):
        params["source"] = source
    else:
        if source:
            start = source
        local = outcome.detail.get("local_address") or _local_toward(destination)
        if not local:
            return "no route from the prober toward the target: no source address"
        params["source"] = local
    if start:
        device, _, interface = start.partition(":")
        params["start_device"] = device
        if interface:
            params["start_interface"] = interface
    if isinstance(spec, IcmpProbe):
        params["protocol"] = "icmp"
    elif isinstance(spec, TcpProbe):
        params |= {"protocol": "tcp", "port": spec.port}
    elif isinstance(spec, HttpProbe):
        params |= {"protocol": "tcp", "port": spec.port()}
    else:
        params |= {"protocol": spec.transport, "port": spec.port}
    return params


def summarise(flow: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer in brief: verdict, reason, hops of the first branch that fails (else the
    first), and the hop it stops at with the rule that decided there."""
    if not rows:
        return {"status": "unknown", "reason": "path_analysis answered no branch", "flow": flow}
    failing = [r for r in rows if r.get("branch_verdict") != "allowed"]
    branch = failing[0] if failing else rows[0]
    hops = list(branch.get("hops") or [])[:MAX_HOPS]
    stop = None
    if failing and hops:
        last = hops[-1]
        denied = [d for d in last.get("decisions") or [] if d.get("verdict") == "denied"]
        stop = {
            "device": last.get("device"),
            "ingress_interface": last.get("ingress_interface"),
            "egress_interface": last.get("egress_interface"),
            "reason": branch.get("reason"),
            "decision": denied[0] if denied else None,
        }
    return {
        "status": "known",
        "flow": flow,
        "verdict": branch.get("verdict"),
        "branch_verdict": branch.get("branch_verdict"),
        "reason": branch.get("reason"),
        "branches": len(rows),
        "hops": [
            {
                "device": h.get("device"),
                "vrf": h.get("vrf"),
                "ingress_interface": h.get("ingress_interface"),
                "egress_interface": h.get("egress_interface"),
                "next_hop": h.get("next_hop"),
            }
            for h in hops
        ],
        "stopped_at": stop,
    }


class PathExplainer:
    """Asks graph-engine (its internal query API, with the service credential)."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._client = client

    async def explain(
        self, spec: IcmpProbe | TcpProbe | HttpProbe | DnsProbe, outcome: Outcome
    ) -> dict[str, Any]:
        flow = flow_of(spec, outcome)
        if isinstance(flow, str):
            return {"status": "unknown", "reason": flow}
        if self._client is None:
            return {"status": "unknown", "reason": "no graph-engine configured", "flow": flow}
        try:
            response = await self._client.post(
                f"/internal/queries/{quote('path_analysis', safe='')}",
                params={"limit": 16},
                json=flow,
            )
        except httpx.HTTPError as exc:
            return {"status": "unknown", "reason": f"graph-engine unreachable: {exc}"[:300]}
        if response.status_code != 200:
            return {
                "status": "unknown",
                "reason": f"graph-engine answered {response.status_code}: {response.text[:200]}",
                "flow": flow,
            }
        return summarise(flow, list(response.json().get("rows") or []))
