"""``python -m meshq_graph_engine``: run this service alone."""

import sys

from meshq_runtime.service import service_main

from meshq_graph_engine.app import SERVICE, create_app
from meshq_graph_engine.reader import ReaderError
from meshq_graph_engine.settings import Settings

if __name__ == "__main__":
    try:
        service_main(create_app, Settings, service=SERVICE)
    except ReaderError as exc:
        print(f"graph-engine: {exc}", file=sys.stderr)
        sys.exit(2)
