"""``python -m network_discovery.k8s``: the in-cluster collector (what ``meshq k8s sync`` does
from the API, for images without the ``meshq`` CLI, such as the graph engine's, whose Helm
pods run it beside the graph engine).

    python -m network_discovery.k8s --cluster prod --in-cluster --watch

One line per inventory written on stdout, the logs on stderr; a bad argument or an API error
ends it with one line on stderr and exit status 1 (the pod's restart policy starts it again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from network_discovery.k8s._model import K8sObjectError
from network_discovery.k8s._store import InventoryStore, check_cluster, default_directory


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m network_discovery.k8s",
        description="Sync one Kubernetes cluster's nodes, pods, services and EndpointSlices "
        "into the inventory the meshq_k8s_* queries read.",
    )
    parser.add_argument("--cluster", required=True, help="the cluster's name (lower case)")
    parser.add_argument("--in-cluster", action="store_true", help="the pod's service account")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="a kubeconfig file")
    parser.add_argument(
        "--context",
        default=os.environ.get("MESHQ_K8S_CONTEXT") or None,
        help="the kubeconfig context (default $MESHQ_K8S_CONTEXT, else the current one)",
    )
    parser.add_argument("--watch", action="store_true", help="follow every change until stopped")
    parser.add_argument("--directory", type=Path, default=None, help="default: $MESHQ_DATA_DIR/k8s")
    return parser


def _logs_to_stderr() -> None:
    """The library's structured logs on stderr (JSON when not on a terminal), so stdout holds
    only the inventory lines."""
    import structlog

    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _logs_to_stderr()
    from network_discovery.k8s._api import ApiException, ConfigException
    from network_discovery.k8s._collect import sync_from_api

    try:
        cluster = check_cluster(args.cluster)
        store = InventoryStore(args.directory or default_directory())
        asyncio.run(
            sync_from_api(
                cluster,
                store,
                kubeconfig=args.kubeconfig,
                context=args.context,
                in_cluster=args.in_cluster,
                watch=args.watch,
                report=lambda line: print(line, flush=True),
            )
        )
    except K8sObjectError as exc:
        print(f"k8s: {exc}"[:500], file=sys.stderr)
        return 1
    except ApiException as exc:
        print(f"k8s: Kubernetes API: {exc.status} {exc.reason}"[:500], file=sys.stderr)
        return 1
    except (ConfigException, OSError) as exc:
        print(f"k8s: Kubernetes API: {exc}"[:500], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
