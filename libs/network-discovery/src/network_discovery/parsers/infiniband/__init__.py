"""InfiniBand diagnostics output: ``ibnetdiscover`` (topology and ``-p`` ports formats),
``iblinkinfo`` (with and without ``--line``), ``ibstat``, ``ibstatus``, ``perfquery`` (and
``-x``), ``ibqueryerrors`` and ``ibroute`` (a switch's unicast forwarding table). Each parser
reads the whole text within the bounds of :mod:`._common` (larger input raises
:class:`FabricInputError`), keeps what it understands as :mod:`network_discovery.model.fabric`
models, and reports every line it could not read, with its number, in
:attr:`FabricResult.problems`."""

from network_discovery.parsers.infiniband._common import (
    MAX_INPUT_BYTES,
    MAX_INPUT_LINES,
    MAX_LINE_CHARS,
    FabricInputError,
    FabricResult,
)
from network_discovery.parsers.infiniband._counters import parse_ibqueryerrors, parse_perfquery
from network_discovery.parsers.infiniband._host import parse_ibstat, parse_ibstatus
from network_discovery.parsers.infiniband._iblinkinfo import parse_iblinkinfo
from network_discovery.parsers.infiniband._ibnetdiscover import parse_ibnetdiscover
from network_discovery.parsers.infiniband._ibroute import parse_ibroute

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_INPUT_LINES",
    "MAX_LINE_CHARS",
    "FabricInputError",
    "FabricResult",
    "parse_iblinkinfo",
    "parse_ibnetdiscover",
    "parse_ibqueryerrors",
    "parse_ibroute",
    "parse_ibstat",
    "parse_ibstatus",
    "parse_perfquery",
]
