"""TextFSM templates are compiled once per thread and reused: a device parsed with reused
state machines, even right after one that a template refused halfway, gives exactly what
freshly compiled ones give."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from network_discovery.parsers import parse_directory
from network_discovery.parsers._textfsm import TemplateError, TemplateRef, run_template

LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"
LLDP = TemplateRef("cisco_ios_show_lldp_neighbors_detail.textfsm")


def _fresh(work: Any) -> Any:
    """``work()`` on a new thread: every template compiled anew."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def _parsed() -> str:
    snapshot, report = parse_directory(LAB1)
    assert report.ok
    return snapshot.model_dump_json(exclude={"collected_at", "snapshot_id"})


def test_reused_templates_parse_like_fresh_ones() -> None:
    def reused() -> tuple[str, str, str]:
        first = _parsed()
        try:  # a template that gives up halfway leaves its state machine mid-record
            run_template(LLDP, "Local Intf: Gi1/0/1\nChassis id: x\nnonsense that fails\n", "x")
        except TemplateError:
            pass
        return first, _parsed(), _parsed()

    first, after_error, again = _fresh(reused)
    assert first == after_error == again == _fresh(_parsed)


def test_a_refused_output_is_refused_again() -> None:
    text = (LAB1 / "lab-acc1" / "show_lldp_neighbors_detail.txt").read_text()
    broken = text.replace("System Name:", "%% unexpected line\nSystem Name:", 1)

    def twice() -> list[str]:
        outcomes = []
        for _ in range(2):
            try:
                outcomes.append(f"rows {len(run_template(LLDP, broken, 'cisco_ios'))}")
            except TemplateError as exc:
                outcomes.append(f"error {exc} at {exc.line}")
        return outcomes

    first, second = _fresh(twice)
    assert first == second
    assert first == _fresh(twice)[0]
