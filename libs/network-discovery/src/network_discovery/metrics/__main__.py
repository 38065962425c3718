"""``python -m network_discovery.metrics``: the scheduled collector as a long-running process,
configured from the environment only (``MESHQ_METRICS_INVENTORY``, ``MESHQ_METRICS_INTERVAL``,
… and ``MESHQ_POSTGRES_URL``; docs/metrics.md). ``meshq serve`` runs it as one of its
supervised children when ``MESHQ_METRICS_INVENTORY`` is set; it is ``meshq metrics run`` with
no options, logging as a service does (``MESHQ_LOG_LEVEL``, ``MESHQ_LOG_FORMAT``).
"""

from __future__ import annotations

import os


def main() -> None:
    try:
        from meshq_runtime.logging import configure_logging
    except ImportError:  # no service runtime: `meshq metrics run` says what is missing
        pass
    else:
        configure_logging(
            service="metrics-collector",
            level=(os.environ.get("MESHQ_LOG_LEVEL") or "info").lower(),
            fmt=os.environ.get("MESHQ_LOG_FORMAT") or "auto",
        )
    from network_discovery.cli.metrics import run

    run.main(args=[], prog_name="meshq metrics run", standalone_mode=True)


if __name__ == "__main__":
    main()
