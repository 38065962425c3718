"""``python -m meshq_prober``: run this service alone."""

import sys

from meshq_runtime.service import run_service

from meshq_prober.app import SERVICE, create_app
from meshq_prober.definitions import ProbeDefinitionError
from meshq_prober.settings import Settings


def main() -> None:
    settings = Settings()
    try:
        app = create_app(settings)
    except ProbeDefinitionError as exc:
        print(f"meshq-prober: {exc}", file=sys.stderr)
        sys.exit(2)
    run_service(lambda _: app, settings, service=SERVICE, port=settings.port)


if __name__ == "__main__":
    main()
