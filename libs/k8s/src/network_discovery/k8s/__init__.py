"""Kubernetes as a source of the graph: nodes, pods, services and their endpoints, from the
API (list and watch) or from ``kubectl get nodes,pods,services,endpointslices -o json`` files,
kept per cluster for the Kubernetes queries (see docs/kubernetes.md)."""

from network_discovery.k8s._files import MAX_FILE_BYTES, FileRead, read_files
from network_discovery.k8s._model import (
    KINDS,
    MAC_ANNOTATION,
    ClusterInventory,
    K8sEndpoint,
    K8sNode,
    K8sObjectError,
    K8sPod,
    K8sPort,
    K8sService,
    build_inventory,
)
from network_discovery.k8s._store import InventoryStore, check_cluster, default_directory

__all__ = [
    "KINDS",
    "MAC_ANNOTATION",
    "MAX_FILE_BYTES",
    "ClusterInventory",
    "FileRead",
    "InventoryStore",
    "K8sEndpoint",
    "K8sNode",
    "K8sObjectError",
    "K8sPod",
    "K8sPort",
    "K8sService",
    "build_inventory",
    "check_cluster",
    "default_directory",
    "read_files",
]
