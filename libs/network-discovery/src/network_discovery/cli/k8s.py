"""``meshq k8s sync``: a Kubernetes cluster's nodes, pods, services and EndpointSlices into
the inventory the ``meshq_k8s_*`` queries read (``$MESHQ_DATA_DIR/k8s``, docs/kubernetes.md).

From the API (kubeconfig, or the pod's service account with ``--in-cluster``): one list, or
with ``--watch`` a list and then every change as it happens until interrupted. From
``kubectl get nodes,pods,services,endpointslices -o json`` files (FILE…) where the collector
cannot reach the API.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from network_discovery.cli._common import CliError

__all__ = ["k8s"]


@click.group()
def k8s() -> None:
    """Kubernetes: clusters' nodes, pods and services on the physical network."""


@k8s.command("sync")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cluster", required=True, help="The cluster's name in the graph (lower case).")
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Kubeconfig file (default $KUBECONFIG, else ~/.kube/config).",
)
@click.option("--context", default=None, help="Kubeconfig context (default: the current one).")
@click.option(
    "--in-cluster", is_flag=True, help="Use the pod's service account (running in the cluster)."
)
@click.option("--watch", is_flag=True, help="After the list, follow every change until stopped.")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where inventories are kept (default $MESHQ_DATA_DIR/k8s).",
)
def sync_cluster(
    files: tuple[Path, ...],
    cluster: str,
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool,
    watch: bool,
    directory: Path | None,
) -> None:
    """Sync one cluster from the API, or from kubectl -o json FILES."""
    from network_discovery.k8s import (
        InventoryStore,
        K8sObjectError,
        check_cluster,
        default_directory,
        read_files,
    )

    try:
        check_cluster(cluster)
    except K8sObjectError as exc:
        raise CliError(str(exc)) from None
    store = InventoryStore(directory or default_directory())
    if files:
        if watch or in_cluster or kubeconfig or context:
            raise CliError("FILES are read as they are: drop --watch, --in-cluster, --kubeconfig")
        try:
            read = read_files(files, cluster=cluster)
        except (K8sObjectError, OSError) as exc:
            raise CliError(str(exc)[:500]) from None
        from network_discovery.k8s._collect import summary

        click.echo(summary(read.inventory, store.save(read.inventory)))
        for kind, count in sorted(read.skipped.items()):
            click.echo(f"meshq: left out {count} {kind} object(s) (not read)", err=True)
        return
    from network_discovery.k8s._collect import sync_from_api

    try:
        asyncio.run(
            sync_from_api(
                cluster,
                store,
                kubeconfig=kubeconfig,
                context=context,
                in_cluster=in_cluster,
                watch=watch,
                report=click.echo,
            )
        )
    except K8sObjectError as exc:
        raise CliError(str(exc)[:500]) from None
    except Exception as exc:
        # the client's own errors (no kubeconfig, refused, 403 from RBAC): one line
        from network_discovery.k8s._api import ApiException, ConfigException

        if isinstance(exc, ApiException):
            raise CliError(f"Kubernetes API: {exc.status} {exc.reason}"[:500]) from None
        if isinstance(exc, ConfigException | OSError):
            raise CliError(f"Kubernetes API: {exc}"[:500]) from None
        raise
