"""``python -m meshq_graph_engine``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_graph_engine.app import SERVICE, create_app
from meshq_graph_engine.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
