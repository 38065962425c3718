"""``meshq query --format csv``: what a device reported is text to a spreadsheet, not a formula."""

from __future__ import annotations

import csv
import io

from network_discovery.cli.graph import _render


def test_cells_a_spreadsheet_would_run_are_quoted() -> None:
    rows = [
        {"device": "sw1", "description": '=HYPERLINK("http://x","click")', "vlan": -5},
        {"device": "sw2", "description": "@SUM(A1)", "vlan": 10},
        {"device": "sw3", "description": "+1-555", "vlan": None},
        {"device": "sw4", "description": "uplink to core", "vlan": 20},
    ]
    cells = list(csv.DictReader(io.StringIO(_render(rows, "csv"))))
    assert [c["description"] for c in cells] == [
        '\'=HYPERLINK("http://x","click")',
        "'@SUM(A1)",
        "'+1-555",
        "uplink to core",
    ]
    assert [c["vlan"] for c in cells] == ["-5", "10", "", "20"]  # numbers stay numbers
