"""Configuration compliance: rule packs over configurations, device facts and the graph."""

from __future__ import annotations

from meshq_graph_engine.compliance.configs import ConfigStore
from meshq_graph_engine.compliance.evaluate import DeviceInput, Result, evaluate_device
from meshq_graph_engine.compliance.export import FORMATS, export_run
from meshq_graph_engine.compliance.history import FileHistory, History, PostgresHistory
from meshq_graph_engine.compliance.packs import PACKS_DIR_ENV, Pack, PackError, load_packs
from meshq_graph_engine.compliance.service import ComplianceService, diff_rows

__all__ = [
    "FORMATS",
    "PACKS_DIR_ENV",
    "ComplianceService",
    "ConfigStore",
    "DeviceInput",
    "FileHistory",
    "History",
    "Pack",
    "PackError",
    "PostgresHistory",
    "Result",
    "diff_rows",
    "evaluate_device",
    "export_run",
    "load_packs",
]
