"""What the recorded labs under tests/fixtures/real/suzieq say, read straight from the raw
outputs with nothing of the product's parsers: the yardstick the parsers are measured by.

Each reader knows just enough of one output (NX-API JSON, eAPI JSON, Junos JSON, IOS text)
to list its neighbour entries, IPv4 interface addresses and ARP entries.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from network_discovery.model import canonical_interface_name

LABS = Path(__file__).parents[1] / "fixtures" / "real" / "suzieq"
_PROMPT = re.compile(r"^admin@[\w.-]+> (?P<command>.+)$", re.M)


def outputs(folder: Path) -> Iterator[tuple[str, str]]:
    """(command as typed, output) for every output of one device folder."""
    for file in sorted(folder.iterdir()):
        if file.name == "meta.yaml":
            continue
        text = file.read_text()
        if file.name == "session.log":
            marks = list(_PROMPT.finditer(text))
            for mark, after in zip(marks, [*marks[1:], None], strict=True):
                end = after.start() if after else len(text)
                yield mark["command"], text[mark.end() : end]
        else:
            yield file.name.rsplit(".", 1)[0].replace("_", " "), text


def platform(folder: Path) -> str:
    return folder.joinpath("meta.yaml").read_text().split(":", 1)[1].strip()


def devices(lab: str) -> dict[str, str]:
    return {f.name: platform(f) for f in sorted((LABS / lab).iterdir()) if f.is_dir()}


def _leaf(entry: dict[str, Any], key: str) -> Any:
    value = entry.get(key)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0].get("data")
    return None


def _rows(table: Any, row: str) -> list[dict[str, Any]]:
    found = (table or {}).get(row) or []
    return [found] if isinstance(found, dict) else list(found)


def _doc(text: str) -> Any:
    start = text.find("{")
    return json.loads(text[start : text.rfind("}") + 1]) if start >= 0 else None


def neighbours(lab: str) -> list[tuple[str, str, str, str]]:
    """(device, local port, far name, far port) of every LLDP/CDP entry; a Junos far port
    sent as a locally assigned id is named by its description, as the standard has it."""
    found = []
    for name in devices(lab):
        for command, text in outputs(LABS / lab / name):
            if "lldp" not in command and "cdp" not in command:
                continue
            doc = _doc(text) if text.lstrip().startswith("{") else None
            if doc is None:  # IOS "show lldp neighbors"
                table = text.split("Device ID", 1)[-1].splitlines()[1:]
                for line in table:
                    words = line.split()
                    if len(words) >= 4 and not line.startswith("Total"):
                        found.append((name, words[1], words[0], words[-1]))
            elif "lldpNeighbors" in doc:
                for local, body in doc["lldpNeighbors"].items():
                    for e in body["lldpNeighborInfo"]:
                        port = e["neighborInterfaceInfo"]["interfaceId"].strip('"')
                        found.append((name, local, e["systemName"], port))
            elif "TABLE_nbor" in doc:
                for r in _rows(doc["TABLE_nbor"], "ROW_nbor"):
                    found.append((name, r["l_port_id"], r["chassis_id"], r["port_id"]))
            elif "TABLE_cdp_neighbor_brief_info" in doc:
                for r in _rows(doc["TABLE_cdp_neighbor_brief_info"], "ROW_cdp_neighbor_brief_info"):
                    found.append((name, r["intf_id"], r["device_id"], r["port_id"]))
            elif "lldp-neighbors-information" in doc:
                for block in doc["lldp-neighbors-information"]:
                    for e in block.get("lldp-neighbor-information") or []:
                        local = _leaf(e, "lldp-local-interface") or _leaf(e, "lldp-local-port-id")
                        port = _leaf(e, "lldp-remote-port-id")
                        subtype = str(_leaf(e, "lldp-remote-port-id-subtype") or "").lower()
                        if subtype.startswith("locally"):
                            port = _leaf(e, "lldp-remote-port-description")
                        found.append((name, local, _leaf(e, "lldp-remote-system-name"), port))
    return found


def _short(name: str) -> str:
    return re.sub(r"\(.*\)$", "", name.strip()).split(".")[0].lower()


def links(lab: str) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    """Every cable between two collected devices that a neighbour entry tells of, ends in
    canonical form and sorted; an end named only by a number (an ifIndex that another entry
    of the same cable names) is left out."""
    known = devices(lab)
    cables = set()
    for device, local, far, far_port in neighbours(lab):
        far_device = _short(far)
        if far_device not in known or far_port is None or far_port.isdigit():
            continue
        a = (device, canonical_interface_name(local, known[device]))
        b = (far_device, canonical_interface_name(far_port, known[far_device]))
        cables.add((min(a, b), max(a, b)))
    return cables


def addresses(lab: str) -> set[tuple[str, str]]:
    """(device, IPv4 address) of every address an interface output lists."""
    found: set[tuple[str, str]] = set()
    for name in devices(lab):
        for command, text in outputs(LABS / lab / name):
            if not re.match(r"show (ip )?int", command) or "brief" in command:
                continue
            if not text.lstrip().startswith("{"):
                for m in re.finditer(r"Internet address is (\d+\.\d+\.\d+\.\d+)/\d+", text):
                    found.add((name, m[1]))
                continue
            doc = _doc(text)
            if "TABLE_intf" in doc:
                for r in _rows(doc["TABLE_intf"], "ROW_intf"):
                    if r.get("prefix"):
                        found.add((name, r["prefix"]))
                    for s in _rows(r.get("TABLE_secondary_address"), "ROW_secondary_address"):
                        found.add((name, s["prefix1"]))
            elif "interfaces" in doc:
                for body in doc["interfaces"].values():
                    for a in body.get("interfaceAddress") or []:
                        for ip in [
                            a.get("primaryIp"),
                            a.get("virtualIp"),
                            *a.get("secondaryIpsOrderedList", []),
                        ]:
                            if ip and ip.get("maskLen"):
                                found.add((name, ip["address"]))
            elif "interface-information" in doc:
                for block in doc["interface-information"]:
                    for port in block.get("physical-interface") or []:
                        for unit in port.get("logical-interface") or []:
                            for family in unit.get("address-family") or []:
                                if _leaf(family, "address-family-name") != "inet":
                                    continue
                                for a in family.get("interface-address") or []:
                                    if _leaf(a, "ifa-local"):
                                        found.add((name, _leaf(a, "ifa-local")))
    return {(d, ip) for d, ip in found if ipaddress.ip_address(ip).version == 4}


def arp(lab: str) -> set[tuple[str, str, str]]:
    """(device, IP, MAC) of every complete ARP entry."""
    found = set()
    for name in devices(lab):
        for command, text in outputs(LABS / lab / name):
            if "arp" not in command.split("|")[0]:
                continue
            if not text.lstrip().startswith("{"):
                for m in re.finditer(r"^Internet\s+(\S+)\s+\S+\s+([0-9a-f.]{14})\s", text, re.M):
                    found.add((name, m[1], m[2]))
                continue
            doc = _doc(text)
            if "TABLE_vrf" in doc:
                for vrf in _rows(doc["TABLE_vrf"], "ROW_vrf"):
                    for r in _rows(vrf.get("TABLE_adj"), "ROW_adj"):
                        if r.get("mac"):
                            found.add((name, r["ip-addr-out"], r["mac"]))
            elif "vrfs" in doc:
                for body in doc["vrfs"].values():
                    for n in body.get("ipV4Neighbors") or []:
                        found.add((name, n["address"], n["hwAddress"]))
            elif "arp-table-information" in doc:
                for block in doc["arp-table-information"]:
                    for e in block.get("arp-table-entry") or []:
                        found.add((name, _leaf(e, "ip-address"), _leaf(e, "mac-address")))
    return found
