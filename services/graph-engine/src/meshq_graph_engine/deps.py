"""What graph-engine's handlers use, built once by the lifespan and handed to them as the
``deps`` dependency: the writer's (it applies snapshots) or a query-only replica's (it reads
the writer's store and sends writes on to it)."""

import asyncio
from dataclasses import dataclass
from typing import Any, TypeAlias

import httpx
from litestar.di import NamedDependency
from meshq_runtime.audit_buffer import AuditBuffer
from meshq_runtime.graph import GraphStore
from meshq_runtime.kafka import EventBus
from meshq_runtime.license import LicenseFollower
from meshq_runtime.metrics_store import MetricsStore
from network_discovery.flows.store import FlowStore

from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.compliance.service import ComplianceService
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.intake import SnapshotIntake
from meshq_graph_engine.reader import GraphReader

__all__ = ["Deps", "GraphDeps", "ReaderDeps", "WriterDeps"]


class GraphDeps:
    """Either role's dependencies (handlers tell them apart with ``isinstance``). A plain base
    class, so that the framework hands the object over as it is."""

    store: GraphStore
    engine: GraphEngine | GraphReader
    #: Interface metrics, where MESHQ_POSTGRES_URL is set.
    metrics: MetricsStore | None = None
    flows: FlowStore | None = None
    #: Compliance runs and their history (None: this process keeps none).
    compliance: ComplianceService | None = None
    #: Loaded advisories (``network_discovery.vuln.store.AdvisoryStore``).
    vulns: Any = None
    #: Kubernetes inventories (``network_discovery.k8s.InventoryStore``).
    k8s: Any = None


@dataclass(frozen=True)
class WriterDeps(GraphDeps):
    store: GraphStore
    engine: GraphEngine
    archive: SnapshotArchive
    bus: EventBus
    license: LicenseFollower
    #: Holds each internal write's audit event until the audit log confirms it.
    audit: AuditBuffer
    intake: SnapshotIntake
    #: Snapshots received at once (``MESHQ_SNAPSHOT_INTAKE_CONCURRENCY``).
    intake_slots: asyncio.Semaphore
    metrics: MetricsStore | None = None
    flows: FlowStore | None = None
    compliance: ComplianceService | None = None
    #: Loaded advisories (``network_discovery.vuln.store.AdvisoryStore``).
    vulns: Any = None
    #: Kubernetes inventories (``network_discovery.k8s.InventoryStore``).
    k8s: Any = None


@dataclass(frozen=True)
class ReaderDeps(GraphDeps):
    store: GraphStore
    engine: GraphReader
    #: The writer's internal API, with the installation's credential.
    writer: httpx.AsyncClient
    metrics: MetricsStore | None = None
    flows: FlowStore | None = None
    compliance: ComplianceService | None = None
    #: Loaded advisories (``network_discovery.vuln.store.AdvisoryStore``).
    vulns: Any = None
    #: Kubernetes inventories (``network_discovery.k8s.InventoryStore``).
    k8s: Any = None


#: A handler's ``deps`` parameter (Litestar's named dependency).
Deps: TypeAlias = NamedDependency[GraphDeps]
