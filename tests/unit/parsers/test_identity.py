"""Who a device is, from every output that tells it: show version first, show inventory for
what it leaves out (IOS text from real captures; NX-OS and EOS JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from network_discovery.parsers import parse_device, parse_directory

INVENTORY = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "ntc-inventory"


def test_ios_inventory_names_the_chassis_not_its_modules() -> None:
    snapshot, report = parse_directory(INVENTORY)
    assert report.errors == [] and report.empty_devices == []
    found = {d.id: (d.model, d.serial, d.platform) for d in snapshot.devices}
    assert found == {
        "c8000v": ("C8000V", "9XLWRY40A2V", "cisco_ios"),  # "Chassis", not "module R0"
        "c3640": ("3640 chassis", "FF1045C5", "cisco_ios"),  # no PID printed: the description
    }


def test_show_version_speaks_first_and_inventory_fills_in(tmp_path: Path) -> None:
    version = tmp_path / "show version | json"
    version.write_text(
        json.dumps(
            {
                "host_name": "n1",
                "nxos_ver_str": "10.3(4a)",
                "chassis_id": "Nexus9000 C93180YC-FX Chassis",
            }
        )
    )
    inventory = tmp_path / "sh inv | json"
    inventory.write_text(
        json.dumps(
            {
                "TABLE_inv": {
                    "ROW_inv": [
                        {
                            "name": '"Chassis"',
                            "desc": '"Nexus9000 C93180YC-FX chassis"',
                            "productid": "N9K-C93180YC-FX",
                            "serialnum": "FDO2412A1B2",
                        },
                        {"name": '"Slot 1"', "productid": "N9K-X", "serialnum": "X1"},
                    ]
                }
            }
        )
    )
    files = {version.name: version, inventory.name: inventory}
    facts, report = parse_device("n1", "cisco_nxos", files)
    assert report.errors == []
    record = facts.record
    assert record is not None
    # the model as show version prints it; the serial, which it does not, from the inventory
    assert (record.model, record.model_id, record.serial, record.os_version) == (
        "Nexus9000 C93180YC-FX Chassis",
        "C93180YC-FX",
        "FDO2412A1B2",
        "10.3(4a)",
    )


def test_eos_inventory_json(tmp_path: Path) -> None:
    saved = tmp_path / "show_inventory.json"
    saved.write_text(
        json.dumps(
            {
                "systemInformation": {
                    "name": "DCS-7050SX3-48YC8",
                    "description": "48x25G",
                    "serialNum": "JPE21034567",
                },
                "cardSlots": {},
            }
        )
    )
    facts, report = parse_device("leaf1", "arista_eos", {saved.name: saved})
    assert report.errors == [] and facts.record is not None
    assert (facts.record.model, facts.record.serial) == ("DCS-7050SX3-48YC8", "JPE21034567")
