"""GPU facts from the tools GPU hosts run: dcgm-exporter metrics, ``dcgmi diag -j``,
``dcgmi discovery -l``, ``nvidia-smi -q -x`` and ``nvidia-smi topo -m``; and health
verdicts over them (:mod:`.health`). Every parser bounds its input, keeps what it
understands and reports each line or element it could not read."""

from network_discovery.parsers.gpu._common import MAX_INPUT_CHARS, GpuFacts
from network_discovery.parsers.gpu._dcgm_exporter import (
    METRICS,
    XID_WINDOW_METRICS,
    parse_dcgm_exporter,
)
from network_discovery.parsers.gpu._dcgmi import parse_dcgmi_diag, parse_dcgmi_discovery
from network_discovery.parsers.gpu._nvidia_smi import parse_nvidia_smi_xml
from network_discovery.parsers.gpu._topo import parse_topo_matrix
from network_discovery.parsers.gpu.health import (
    DEFAULT_THRESHOLDS,
    XID_TABLE,
    HealthThresholds,
    evaluate_health,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MAX_INPUT_CHARS",
    "METRICS",
    "XID_TABLE",
    "XID_WINDOW_METRICS",
    "GpuFacts",
    "HealthThresholds",
    "evaluate_health",
    "parse_dcgm_exporter",
    "parse_dcgmi_diag",
    "parse_dcgmi_discovery",
    "parse_nvidia_smi_xml",
    "parse_topo_matrix",
]
