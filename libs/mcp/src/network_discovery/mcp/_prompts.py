"""The six prompts: worked procedures that name, in order, tools the server really serves.

Each procedure is a list of steps; a step names one tool, how to call it and what to look for in
its answer. When a prompt is rendered, steps whose tool is not served (a category not built yet,
or hidden from this caller) are left out and the prompt says so, so it never sends the model to
a tool that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcp import types

__all__ = ["PROMPTS", "Prompt", "Step", "render", "tools_named"]


@dataclass(frozen=True)
class Step:
    tool: str
    call: str
    look_for: str


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    arguments: tuple[types.PromptArgument, ...]
    goal: str
    steps: tuple[Step, ...]
    report: str


def _arg(name: str, description: str, required: bool = True) -> types.PromptArgument:
    return types.PromptArgument(name=name, description=description, required=required)


PROMPTS: tuple[Prompt, ...] = (
    Prompt(
        name="network_incident_triage",
        description="Structured triage of a network incident centred on one device.",
        arguments=(
            _arg("device", "The device that is down or misbehaving (its id or hostname)."),
            _arg("symptom", "What users report (free text).", required=False),
        ),
        goal="Triage an incident on device {device}. Reported symptom: {symptom}.",
        steps=(
            Step(
                "meshq_alerts_list",
                "with device={device} (open alerts), then with no arguments (limit 20)",
                "what the platform already raised on {device} and around it, since when, and "
                "whether someone acknowledged it; a link-lost or peer-down alert names the far "
                "end to check first",
            ),
            Step(
                "all_devices",
                "with managed_only=false and fields=[device,role,site,"
                "criticality,management_ip,os_version]",
                "the row for {device}: its role and criticality set the urgency; no row means "
                "the name is wrong or the device was never collected",
            ),
            Step(
                "device_neighbors",
                "with device={device}",
                "which devices sit on each link; an empty answer on a device that should have "
                "neighbours points at a dead uplink or a collection gap",
            ),
            Step(
                "blast_radius_device",
                "with device={device}",
                "rows with status=affected (no path upstream left) versus degraded (fewer "
                "paths_after than paths_before), their endpoints, and the severity: that is "
                "who the incident hurts",
            ),
            Step(
                "topology_neighborhood",
                "with device={device} and depth=2",
                "whether the neighbours have other uplinks (redundancy) or hang only off {device}",
            ),
            Step(
                "bgp_peers_down",
                "with device={device}",
                "sessions not Established on or towards {device}; a down peer with a known "
                "remote device names the far end to check",
            ),
            Step(
                "endpoints_without_location",
                "with no arguments (limit 20)",
                "endpoints that lost their switch port may be the ones behind {device}",
            ),
        ),
        report="Write: impact (who is affected), most likely cause, the next three checks, and "
        "whom to page. Quote device and interface names exactly as the tools gave them.",
    ),
    Prompt(
        name="network_change_impact_assessment",
        description="Assess what a planned change to a device could break, before the window.",
        arguments=(
            _arg("device", "The device the change touches."),
            _arg("change", "What will be done (free text).", required=False),
        ),
        goal="Assess the impact of a planned change on {device}: {change}.",
        steps=(
            Step(
                "blast_radius_device",
                "with device={device}",
                "affected devices and their endpoints if {device} goes away during the change, "
                "the degraded ones that lose redundancy, and the severity and impact_score",
            ),
            Step(
                "device_neighbors",
                "with device={device}",
                "every directly connected device and the interface pairs of each link",
            ),
            Step(
                "topology_neighborhood",
                "with device={device} and depth=2",
                "neighbours with a second path upstream (they ride through) and those without "
                "(they go dark for the window)",
            ),
            Step(
                "lldp_neighbors",
                "with device={device}",
                "links seen only from one side: confirm them before relying on redundancy",
            ),
            Step(
                "subnets_on_device",
                "with device={device}",
                "subnets that have their gateway on {device}; hosts in them lose routing",
            ),
            Step(
                "bgp_peers",
                "with device={device}",
                "BGP sessions that will drop and the prefixes they carry",
            ),
        ),
        report="Write: risk level (low/medium/high) with the reason, what loses connectivity, "
        "the order of work that keeps redundancy, and a rollback check list.",
    ),
    Prompt(
        name="network_endpoint_hunt",
        description="Find where an endpoint (by IP or MAC) is attached in the network.",
        arguments=(_arg("address", "The endpoint's IP address or MAC address."),),
        goal="Locate the endpoint {address} down to a switch port.",
        steps=(
            Step(
                "locate_endpoint_by_ip",
                "with ip={address} (skip if {address} is a MAC)",
                "the MAC behind the IP and the device/interface it was learnt on",
            ),
            Step(
                "locate_endpoint_by_mac",
                "with mac={address} or the MAC found above",
                "the switch and interface; several rows mean the MAC moves or is seen on "
                "uplinks - the access port is the one that is not a link to another switch",
            ),
            Step(
                "endpoints_on_interface",
                "with the device and interface found above",
                "what else shares that port (a hub, a hypervisor, a phone with a PC behind)",
            ),
            Step(
                "interface_neighbors",
                "with the same device and interface",
                "an answer here means the port is an inter-switch link, not the edge: follow "
                "the neighbour and hunt again",
            ),
            Step(
                "duplicate_ip_addresses",
                "with no arguments",
                "whether {address} is claimed twice, which would explain an endpoint that "
                "seems to be in two places",
            ),
        ),
        report="Write: device, interface, VLAN, MAC and IP of the endpoint, and how sure you are.",
    ),
    Prompt(
        name="network_addressing_audit",
        description="Audit IP addressing: orphaned addresses, duplicates and subnet usage.",
        arguments=(_arg("cidr", "The subnet to audit (CIDR, e.g. 10.1.0.0/16)."),),
        goal="Audit IP addressing inside {cidr}.",
        steps=(
            Step(
                "ips_in_subnet",
                "with cidr={cidr}",
                "how full the subnet is and which devices or endpoints hold its addresses",
            ),
            Step(
                "orphaned_ips",
                "with cidr={cidr}",
                "addresses that belong to no known subnet or interface: stale config or "
                "undocumented hosts",
            ),
            Step(
                "duplicate_ip_addresses",
                "with no arguments",
                "the same address on two interfaces; keep those inside {cidr}",
            ),
            Step(
                "interfaces_without_ips",
                "with no arguments (limit 50)",
                "routed interfaces that lost their address",
            ),
            Step(
                "subnets_on_device",
                "with each gateway device seen above",
                "subnets defined on more than one device without a reason (HSRP/VRRP aside)",
            ),
        ),
        report="Write: a table of findings (address, where, problem, fix) sorted by risk.",
    ),
    Prompt(
        name="network_hygiene_report",
        description="A hygiene report for a site: missing data, lonely devices, duplicates.",
        arguments=(_arg("site", "Only this site; leave empty for every site.", required=False),),
        goal="Produce a network hygiene report for site '{site}' (empty means every site).",
        steps=(
            Step(
                "summary_stats",
                "with site={site}",
                "the size of the estate, to turn each finding into a share of the whole",
            ),
            Step(
                "devices_without_neighbors",
                "with site={site}",
                "managed devices with no link at all: unplugged, or collection is broken",
            ),
            Step(
                "devices_missing_os_version",
                "with site={site}",
                "devices whose version is unknown: they cannot be checked for advisories",
            ),
            Step(
                "devices_missing_hostname",
                "with no arguments",
                "neighbours known only by chassis id or address",
            ),
            Step(
                "interfaces_no_description",
                "with no arguments (limit 50)",
                "undocumented ports, worst offenders first",
            ),
            Step(
                "interfaces_without_ips",
                "with no arguments (limit 50)",
                "layer-3 interfaces that are up without an address",
            ),
            Step(
                "endpoints_without_location",
                "with no arguments",
                "endpoints seen in ARP but never on a switch port",
            ),
            Step("duplicate_ip_addresses", "with no arguments", "address conflicts"),
        ),
        report="Write: a score per category (count and share of the estate), the ten most "
        "useful fixes, and what to collect again.",
    ),
    Prompt(
        name="network_firewall_audit",
        description="Audit firewall policy: deny-heavy devices, zone exposure, paths.",
        arguments=(
            _arg("device", "A firewall to focus on; empty for every firewall.", required=False),
        ),
        goal="Audit the firewall policy (focus: '{device}', empty means every firewall).",
        steps=(
            Step(
                "all_firewall_devices",
                "with no arguments",
                "every device with a collected policy and its rules, enabled_rules, deny_rules "
                "and zones; a firewall in the inventory but not here had no policy collected",
            ),
            Step(
                "firewall_rules_by_device",
                "with device={device}",
                "permits with empty sources, destinations and services (any-any), disabled "
                "rules, and rules whose hit_count is 0",
            ),
            Step(
                "shadowed_rules",
                "with device={device}",
                "rules that can never match; kind=conflict means an earlier rule does the "
                "opposite of what the shadowed one says, which is a policy bug, not clutter",
            ),
            Step(
                "filter_line_reachability",
                "with device={device}",
                "dead lines in every filter, also access lists applied nowhere yet: "
                "blocking_lines is the smallest set of earlier lines to blame, "
                "different_action=true a line that never does what it says, and reason "
                "empty or independently_unmatchable a line that matches nothing by itself",
            ),
            Step(
                "deny_rules_summary",
                "with device={device}",
                "denies with breadth=any, and devices where device_deny_rules is a small share "
                "of device_rules (permit-heavy) or zero (nothing denied explicitly)",
            ),
            Step(
                "firewall_rules_by_zone_pair",
                "with src_zone and dst_zone for each pair that crosses a trust level (e.g. "
                "src_zone=outside dst_zone=inside) and device={device}",
                "what the outside or guest zones may reach inside; rows with zone_match=any "
                "apply to every zone pair",
            ),
            Step(
                "path_analysis",
                "with source, destination, protocol and port of the one or two flows that "
                "matter most",
                "whether the flow passes, hop by hop, and at each firewall the rule (or the "
                "default action) that decided it",
            ),
            Step(
                "all_devices",
                "with role=firewall and fields=[device,site,os_version,criticality]",
                "the firewalls the inventory knows about, even before rules are collected",
            ),
            Step(
                "device_neighbors",
                "with device={device}",
                "which segments the firewall joins: each neighbour is a zone boundary",
            ),
            Step(
                "topology_neighborhood",
                "with device={device} and depth=2",
                "paths that go around the firewall instead of through it",
            ),
        ),
        report="Write: the exposures found (zone pair, rule, why it matters), rules to remove, "
        "and what the audit could not see.",
    ),
)

_BY_NAME = {p.name: p for p in PROMPTS}
#: What an optional argument left empty reads as inside the procedure.
_EMPTY = {
    "symptom": "(not given)",
    "change": "(not described)",
    "device": "<each device found in the first step>",
}
_TOOL_REF = re.compile(r"call the `([a-z0-9_]+)` tool")


def tools_named(text: str) -> list[str]:
    """Every tool a rendered prompt tells the model to call, in order."""
    return _TOOL_REF.findall(text)


def listing() -> list[types.Prompt]:
    return [
        types.Prompt(name=p.name, description=p.description, arguments=list(p.arguments))
        for p in PROMPTS
    ]


class PromptError(ValueError):
    pass


def render(name: str, arguments: dict[str, str], served: set[str]) -> types.GetPromptResult:
    prompt = _BY_NAME.get(name)
    if prompt is None:
        raise PromptError(f"no prompt named {name!r}; prompts/list names them")
    values = {a.name: str(arguments.get(a.name) or "").strip() for a in prompt.arguments}
    missing = [a.name for a in prompt.arguments if a.required and not values[a.name]]
    if missing:
        raise PromptError(f"{name} needs the argument(s): {', '.join(missing)}")
    values = {k: v or _EMPTY.get(k, v) for k, v in values.items()}
    steps = [s for s in prompt.steps if s.tool in served]
    absent = [s.tool for s in prompt.steps if s.tool not in served]
    lines = [prompt.goal.format(**values), "", "Work through these steps in order:"]
    for i, step in enumerate(steps, 1):
        lines.append(
            f"{i}. call the `{step.tool}` tool {step.call.format(**values)}. "
            f"Look for: {step.look_for.format(**values)}."
        )
    if absent:
        lines += [
            "",
            "Not available on this server (not built yet, or not allowed for you): "
            + ", ".join(absent)
            + ". Do not call them; say in the report what they would have answered.",
        ]
    if len(steps) < 3:
        lines.append("Fewer than three of the usual tools are served: the result will be thin.")
    lines += [
        "",
        "Tools answer at most `limit` rows (with a total and a hint when cut); pass `fields` "
        "to keep answers short. A tool error is an answer too: report it, do not guess.",
        "",
        prompt.report,
    ]
    return types.GetPromptResult(
        description=prompt.description,
        messages=[
            types.PromptMessage(
                role="user", content=types.TextContent(type="text", text="\n".join(lines))
            )
        ],
    )
