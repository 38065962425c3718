"""``python -m meshq_audit``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_audit.app import create_app
from meshq_audit.service import SERVICE
from meshq_audit.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
