"""``python -m meshq_licensing``: the license agent; ``python -m meshq_licensing server``: the
license server (also chosen by ``MESHQ_LICENSING_ROLE=server``)."""

import os
import sys

from meshq_runtime.service import service_main

from meshq_licensing.app import SERVICE, create_app
from meshq_licensing.settings import ServerSettings, Settings


def main() -> None:
    role = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MESHQ_LICENSING_ROLE", "agent")
    if role == "server":
        from meshq_licensing.server.app import SERVER, create_server_app

        service_main(create_server_app, ServerSettings, service=SERVER)
    elif role == "agent":
        service_main(create_app, Settings, service=SERVICE)
    else:
        sys.exit(f"meshq_licensing: unknown role {role!r}; use 'agent' (default) or 'server'")


if __name__ == "__main__":
    main()
