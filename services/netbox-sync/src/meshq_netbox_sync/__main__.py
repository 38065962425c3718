"""``python -m meshq_netbox_sync``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_netbox_sync.app import SERVICE, create_app
from meshq_netbox_sync.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
