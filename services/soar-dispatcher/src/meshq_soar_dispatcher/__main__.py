"""``python -m meshq_soar_dispatcher``: run this service alone."""

from meshq_runtime.service import service_main

from meshq_soar_dispatcher.app import SERVICE, create_app
from meshq_soar_dispatcher.settings import Settings

if __name__ == "__main__":
    service_main(create_app, Settings, service=SERVICE)
