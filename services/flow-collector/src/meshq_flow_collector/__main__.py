"""``python -m meshq_flow_collector``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_flow_collector.app import SERVICE, create_app
from meshq_flow_collector.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
