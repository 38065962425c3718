"""A fake NetBox 4.2 on loopback, for tests of the product's own NetBox client.

with running_netbox("0123abcd") as netbox:
    netbox.add("dcim/sites", name="HQ", slug="hq")
    ...  # the product talks to netbox.url over TCP
    assert netbox.violations == []
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from meshq_runtime.embedded import free_port

from support.netbox_fake._app import FakeNetBox, Fault

__all__ = ["FakeNetBox", "Fault", "running_netbox"]


@contextmanager
def running_netbox(token: str) -> Iterator[FakeNetBox]:
    port = free_port()
    fake = FakeNetBox(token=token, base_url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-netbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake NetBox did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
