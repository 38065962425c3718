"""``nvidia-smi -q -x``: GPU identities and one health sample per GPU.

The XML is read with defusedxml (no entity expansion, no external entities; the DOCTYPE line
nvidia-smi prints names a DTD that is never fetched). Element names moved between driver
generations (``power_readings`` → ``gpu_power_readings``, ECC ``double_bit/total`` →
``sram_uncorrectable`` + ``dram_uncorrectable``); each is read where it is, and ``N/A`` stays
unknown. nvidia-smi lists GPUs in NVML index order, so an element's position is its index.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from pydantic import ValidationError

from network_discovery.model.gpu import Gpu, normalise_pci_bus_id
from network_discovery.parsers.gpu._common import GpuFacts, add_sample, check_size

__all__ = ["parse_nvidia_smi_xml"]

_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:[A-Za-z%/]+)?\s*$")
_MAX_GPUS = 1024


def _text(node: Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    text = found.text.strip()
    return None if not text or text.upper() in ("N/A", "[N/A]", "UNKNOWN ERROR") else text


def _number(node: Element | None, *paths: str) -> float | None:
    for path in paths:
        text = _text(node, path)
        if text is None:
            continue
        found = _NUMBER.match(text)
        if found is not None:
            return float(found[1])
    return None


def _count(node: Element | None, *paths: str) -> int | None:
    value = _number(node, *paths)
    return None if value is None or value < 0 else int(value)


def _sum(node: Element | None, *paths: str) -> int | None:
    """The sum of the parts that were read; None when none was."""
    parts = [_count(node, p) for p in paths]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


def _flag(node: Element | None, path: str) -> bool | None:
    text = _text(node, path)
    if text is None:
        return None
    return {"yes": True, "no": False}.get(text.lower())


def parse_nvidia_smi_xml(text: str, *, host: str, source: str = "nvidia-smi -q -x") -> GpuFacts:
    """GPUs and a health sample per GPU from ``nvidia-smi -q -x`` (the XML names no host:
    ``host`` does)."""
    check_size(text, source)
    facts = GpuFacts(source=source)
    try:
        root = ElementTree.fromstring(text.strip())
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        facts.issue(f"not readable XML: {exc}")
        return facts
    if root.tag != "nvidia_smi_log":
        facts.issue(f"root element <{root.tag}> is not <nvidia_smi_log>")
        return facts
    driver = _text(root, "driver_version")
    cuda = _text(root, "cuda_version")
    elements = root.findall("gpu")
    if len(elements) > _MAX_GPUS:
        facts.issue(f"{len(elements)} GPUs; only the first {_MAX_GPUS} are read")
    for index, gpu in enumerate(elements[:_MAX_GPUS]):
        _read_gpu(facts, gpu, index, host, driver, cuda)
    return facts


def _read_gpu(
    facts: GpuFacts, gpu: Element, index: int, host: str, driver: str | None, cuda: str | None
) -> None:
    bus = _text(gpu, "pci/pci_bus_id") or gpu.get("id")
    try:
        record = Gpu(
            host=host,
            index=index,
            uuid=_text(gpu, "uuid"),
            pci_bus_id=normalise_pci_bus_id(bus) if bus else None,
            name=_text(gpu, "product_name"),
            serial=_text(gpu, "serial"),
            driver_version=driver,
            cuda_version=cuda,
        )
    except (ValidationError, ValueError) as exc:
        facts.issue(f"GPU {index}: {exc}")
        return
    facts.gpus.append(record)
    power = gpu.find("gpu_power_readings")
    if power is None:
        power = gpu.find("power_readings")
    temperature = gpu.find("temperature")
    volatile = gpu.find("ecc_errors/volatile")
    aggregate = gpu.find("ecc_errors/aggregate")
    remap = gpu.find("remapped_rows")
    values: dict[str, Any] = {
        "temperature_c": _number(temperature, "gpu_temp"),
        "memory_temperature_c": _number(temperature, "memory_temp"),
        "slowdown_temperature_c": _number(temperature, "gpu_temp_slow_threshold"),
        "shutdown_temperature_c": _number(temperature, "gpu_temp_max_threshold"),
        "power_w": _number(power, "instant_power_draw", "power_draw", "average_power_draw"),
        "power_limit_w": _number(
            power, "current_power_limit", "enforced_power_limit", "power_limit"
        ),
        "utilisation_pct": _number(gpu, "utilization/gpu_util"),
        "ecc_sbe_volatile": _count(volatile, "single_bit/total")
        if volatile is not None and volatile.find("single_bit") is not None
        else _sum(volatile, "sram_correctable", "dram_correctable"),
        "ecc_dbe_volatile": _count(volatile, "double_bit/total")
        if volatile is not None and volatile.find("double_bit") is not None
        else _sum(volatile, "sram_uncorrectable", "dram_uncorrectable"),
        "ecc_sbe_aggregate": _count(aggregate, "single_bit/total")
        if aggregate is not None and aggregate.find("single_bit") is not None
        else _sum(aggregate, "sram_correctable", "dram_correctable"),
        "ecc_dbe_aggregate": _count(aggregate, "double_bit/total")
        if aggregate is not None and aggregate.find("double_bit") is not None
        else _sum(aggregate, "sram_uncorrectable", "dram_uncorrectable"),
        "retired_pages_sbe": _count(
            gpu, "retired_pages/multiple_single_bit_retirement/retired_count"
        ),
        "retired_pages_dbe": _count(gpu, "retired_pages/double_bit_retirement/retired_count"),
        "retired_pages_pending": _flag(gpu, "retired_pages/pending_retirement"),
        "remapped_rows_correctable": _count(remap, "remapped_row_corr"),
        "remapped_rows_uncorrectable": _count(remap, "remapped_row_unc"),
        "row_remap_pending": _flag(remap, "remapped_row_pending") if remap is not None else None,
        "row_remap_failure": _flag(remap, "remapped_row_failure") if remap is not None else None,
        "pcie_replay_errors": _count(gpu, "pci/replay_counter"),
        "memory_used_mib": _number(gpu, "fb_memory_usage/used"),
        "memory_total_mib": _number(gpu, "fb_memory_usage/total"),
    }
    add_sample(
        facts,
        {"host": host, "index": index, "uuid": record.uuid, "source": "nvidia-smi"},
        values,
    )
