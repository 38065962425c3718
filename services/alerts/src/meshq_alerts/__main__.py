"""``python -m meshq_alerts``: run this service alone."""

import sys

from meshq_runtime.service import run_service

from meshq_alerts.app import SERVICE, create_app
from meshq_alerts.rules import RuleError
from meshq_alerts.settings import Settings


def main() -> None:
    settings = Settings()
    try:
        rules = settings.load_rules()
    except RuleError as exc:
        print(f"meshq-alerts: {exc}", file=sys.stderr)
        sys.exit(2)
    run_service(lambda s: create_app(s, rules), settings, service=SERVICE, port=settings.port)


if __name__ == "__main__":
    main()
