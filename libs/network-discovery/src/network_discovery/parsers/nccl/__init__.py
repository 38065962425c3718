"""NCCL jobs from ``NCCL_DEBUG=INFO`` logs (ranks, hosts, GPUs, HCA ports, rings, trees)
and nccl-tests result tables. Each parser bounds its input and reports what it did not
read."""

from network_discovery.parsers.nccl._log import NcclFacts, parse_nccl_log
from network_discovery.parsers.nccl._messages import nccl_bus_id, parse_tree, parse_via
from network_discovery.parsers.nccl._tests import NcclTestsFacts, parse_nccl_tests

__all__ = [
    "NcclFacts",
    "NcclTestsFacts",
    "nccl_bus_id",
    "parse_nccl_log",
    "parse_nccl_tests",
    "parse_tree",
    "parse_via",
]
