"""``dcgmi diag -r N -j`` (JSON) and ``dcgmi discovery -l`` (text).

The diagnostic's JSON has two shapes: DCGM up to 3.x puts everything under ``DCGM GPU
Diagnostic`` with a ``gpu_ids`` string per result (a comma list for tests that cover all
GPUs); DCGM 4 uses ``DCGM Diagnostic`` with ``entity_group``/``entity_id`` per result. Both
are read; a status outside pass/fail/warn/skip is kept as ``unknown``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from network_discovery.model.gpu import DiagResult, DiagStatus, Gpu, normalise_pci_bus_id
from network_discovery.parsers.gpu._common import GpuFacts, check_size

__all__ = ["parse_dcgmi_diag", "parse_dcgmi_discovery"]

_STATUS = {
    "pass": DiagStatus.PASS,
    "fail": DiagStatus.FAIL,
    "warn": DiagStatus.WARN,
    "warning": DiagStatus.WARN,
    "skip": DiagStatus.SKIP,
    "skipped": DiagStatus.SKIP,
}
_MAX_RESULTS = 20_000


def _status(value: Any) -> DiagStatus:
    return _STATUS.get(str(value).strip().lower(), DiagStatus.UNKNOWN)


def parse_dcgmi_diag(text: str, *, host: str, source: str = "dcgmi diag -j") -> GpuFacts:
    """One :class:`DiagResult` per test and GPU."""
    check_size(text, source)
    facts = GpuFacts(source=source)
    start = text.find("{")  # dcgmi prints "Successfully ran diagnostic for group." first
    try:
        document = json.loads(text[start:] if start >= 0 else text)
    except json.JSONDecodeError as exc:
        facts.issue(f"not JSON: {exc}", line=exc.lineno)
        return facts
    body = None
    if isinstance(document, dict):
        body = document.get("DCGM GPU Diagnostic") or document.get("DCGM Diagnostic")
    if not isinstance(body, dict):
        facts.issue("no 'DCGM GPU Diagnostic' or 'DCGM Diagnostic' object")
        return facts
    version = body.get("version") or (
        document.get("version") if isinstance(document, dict) else None
    )
    categories = body.get("test_categories")
    if not isinstance(categories, list):
        facts.issue("no test_categories list")
        return facts
    for category in categories:
        if not isinstance(category, dict) or not isinstance(category.get("tests"), list):
            facts.issue("a test category without a tests list")
            continue
        for test in category["tests"]:
            _test(facts, host, category.get("category"), test, version)
    return facts


def _test(facts: GpuFacts, host: str, category: Any, test: Any, version: Any) -> None:
    if not isinstance(test, dict) or not isinstance(test.get("results"), list):
        facts.issue(f"test {test!r:.60} has no results list")
        return
    name = str(test.get("name") or "").strip()
    for result in test["results"]:
        if len(facts.diag) >= _MAX_RESULTS:
            facts.issue(f"more than {_MAX_RESULTS} results; the rest is not read")
            return
        if not isinstance(result, dict):
            facts.issue(f"{name}: a result that is not an object")
            continue
        warnings, ids = [], []
        for warning in result.get("warnings") or []:
            if isinstance(warning, dict):
                warnings.append(str(warning.get("warning", ""))[:512])
                if isinstance(warning.get("error_id"), int):
                    ids.append(warning["error_id"])
            else:
                warnings.append(str(warning)[:512])
        for index in _indices(facts, name, result):
            try:
                facts.diag.append(
                    DiagResult(
                        host=host,
                        index=index,
                        category=str(category) if category else None,
                        test=name,
                        status=_status(result.get("status")),
                        warnings=tuple(w for w in warnings if w)[:64],
                        error_ids=tuple(ids)[:64],
                        dcgm_version=str(version) if version else None,
                    )
                )
            except ValidationError as exc:
                facts.issue(f"{name}: {exc.errors()[0]['msg']}")


def _indices(facts: GpuFacts, name: str, result: dict[str, Any]) -> list[int | None]:
    if "entity_id" in result:
        group = str(result.get("entity_group", "GPU"))
        if group.upper() != "GPU":
            return []  # a switch, CPU or link result: not a GPU's
        entity = result["entity_id"]
        return [entity] if isinstance(entity, int) and entity >= 0 else []
    ids = str(result.get("gpu_ids", result.get("gpu_id", ""))).strip()
    if not ids:
        return [None]
    parts = [p.strip() for p in ids.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        facts.issue(f"{name}: gpu_ids {ids!r} is not a list of GPU ids")
        return []
    return [int(p) for p in parts]


_ROW = re.compile(r"^\|\s*(\d+)?\s*\|\s*(Name|PCI Bus ID|Device UUID)\s*:\s*(.*?)\s*\|$")


def parse_dcgmi_discovery(text: str, *, host: str, source: str = "dcgmi discovery -l") -> GpuFacts:
    """The GPUs ``dcgmi discovery -l`` lists (switches and CPUs are not GPUs: skipped)."""
    check_size(text, source)
    facts = GpuFacts(source=source)
    current: dict[str, Any] | None = None
    found: list[dict[str, Any]] = []
    in_gpus = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if re.match(r"^\d+ GPUs? found\.$", line):
            in_gpus = True
            continue
        if re.match(r"^\d+ \w+ found\.$", line):
            in_gpus = False
            continue
        if not in_gpus or not line or line.startswith("+") or "GPU ID" in line:
            continue
        row = _ROW.match(line)
        if row is None:
            facts.issue(f"not a GPU table row: {line[:80]!r}", line=number)
            continue
        if row[1] is not None:
            current = {"index": int(row[1])}
            found.append(current)
        if current is None:
            facts.issue("a GPU detail before any GPU ID", line=number)
            continue
        current[row[2]] = row[3]
    for entry in found:
        bus = entry.get("PCI Bus ID")
        try:
            facts.gpus.append(
                Gpu(
                    host=host,
                    index=entry["index"],
                    name=entry.get("Name"),
                    uuid=entry.get("Device UUID"),
                    pci_bus_id=normalise_pci_bus_id(bus) if bus else None,
                )
            )
        except (ValidationError, ValueError) as exc:
            facts.issue(f"GPU {entry['index']}: {exc}")
    return facts
