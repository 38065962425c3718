"""``python -m meshq_licensing``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_licensing.app import SERVICE, create_app
from meshq_licensing.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
