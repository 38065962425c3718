"""``python -m meshq_query_gateway``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_query_gateway.app import SERVICE, create_app
from meshq_query_gateway.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
