from datetime import UTC, datetime
from pathlib import Path

import pytest
from network_discovery.model import Snapshot
from network_discovery.parsers import ParseReport, parse_directory

LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"
WHEN = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


@pytest.fixture(scope="session")
def lab1() -> tuple[Snapshot, ParseReport]:
    return parse_directory(LAB1, collected_at=WHEN, snapshot_id="lab1")


FIREWALL_LAB = Path(__file__).resolve().parents[2] / "fixtures" / "firewall" / "lab"


@pytest.fixture(scope="session")
def fw_lab() -> tuple[Snapshot, ParseReport]:
    return parse_directory(FIREWALL_LAB, collected_at=WHEN, snapshot_id="fw-lab")
