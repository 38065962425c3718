"""``python -m meshq_mcp_bridge``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_mcp_bridge.app import SERVICE, create_app
from meshq_mcp_bridge.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
