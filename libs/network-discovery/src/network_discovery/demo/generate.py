"""Regenerate the bundled demo snapshot.

    python -m network_discovery.demo.generate            # rewrite demo_snapshot.json
    python -m network_discovery.demo.generate --check    # exit 1 if the file is stale

The network is built by plain code with no randomness, so the output is byte-for-byte the
same on every run; a test holds the committed file to that.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from network_discovery.demo._builder import DemoNet
from network_discovery.demo._campus import add_campus_devices
from network_discovery.demo._campus_links import wire_campus
from network_discovery.demo._datacentre import add_dc_devices, wire_dc
from network_discovery.demo._edge import add_edge_devices, wire_edge
from network_discovery.demo._hosts import add_campus_hosts
from network_discovery.demo._policy import add_firewalls, add_routing
from network_discovery.model import Snapshot

__all__ = ["COLLECTED_AT", "FILE_NAME", "SNAPSHOT_ID", "build", "main", "render"]

FILE_NAME = "demo_snapshot.json"
SNAPSHOT_ID = "demo-campus-dc-v1"
COLLECTED_AT = "2026-03-02T08:15:00Z"


def build() -> dict[str, Any]:
    """The demo snapshot as plain JSON data, facts in each vendor's own notation."""
    net = DemoNet()
    add_campus_devices(net)
    add_edge_devices(net)
    add_dc_devices(net)
    wire_campus(net)
    wire_edge(net)
    wire_dc(net)
    add_campus_hosts(net)
    add_routing(net)
    add_firewalls(net)
    return {
        "format_version": 1,
        "snapshot_id": SNAPSHOT_ID,
        "source": "demo",
        "collected_at": COLLECTED_AT,
        **net.facts(),
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render(data: dict[str, Any] | None = None) -> str:
    """JSON text with one fact per line: compact, yet readable and diff-friendly."""
    data = build() if data is None else data
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {_dump(key)}: [")
            lines.extend(
                f"    {_dump(item)}{',' if j < len(value) - 1 else ''}"
                for j, item in enumerate(value)
            )
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {_dump(key)}: {_dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m network_discovery.demo.generate",
        description="Regenerate the bundled demo network snapshot.",
    )
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).with_name(FILE_NAME), help="file to write"
    )
    parser.add_argument(
        "--check", action="store_true", help="only check that the file is up to date"
    )
    args = parser.parse_args(argv)
    data = build()
    Snapshot.model_validate(data)  # never write a snapshot the model would refuse
    text = render(data)
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"{output} is out of date: run python -m network_discovery.demo.generate")
            return 1
        print(f"{output} is up to date")
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
