"""The supervisor's own HTTP endpoint: the readiness of the whole stack ``meshq serve`` runs.

``GET /ready`` answers 200 when every child is up, else 503 ``application/problem+json`` whose
``unavailable`` names the children that are not, whose ``state`` says why (``starting``,
``degraded``, ``stopping``), and whose ``children`` tells, for each, its state, since when, its
restart count and how it last exited. ``GET /health`` answers 200 while
the supervisor runs. It listens on loopback only, on a port of the kernel's choosing (the
``supervisor`` entry of ``endpoints.json``), and shows no secret. The gateway's ``/ready``
includes it (``MESHQ_SUPERVISOR_URL`` in its environment).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from meshq_runtime.embedded.ports import LOOPBACK

__all__ = ["StatusServer", "not_ready_detail"]

_PROBLEM = "application/problem+json"


def not_ready_detail(snapshot: dict[str, Any]) -> str:
    """One sentence per child that is not up: since when it is down and how it exited, where
    its restart stands, how many restarts so far."""
    parts = []
    for name in snapshot.get("unavailable", []):
        child = snapshot["children"][name]
        state, restarts = child["state"], child["restarts"]
        if child.get("down_since"):
            text = f"{name} is down since {child['down_since']}"
            if child.get("last_exit"):
                text += f" ({child['last_exit']})"
            if state == "backoff":
                text += f", restart {restarts + 1} in {child.get('restart_in_s', 0):.1f}s"
            elif state == "starting":
                text += f", restart {restarts} under way"
        else:
            text = f"{name} is {state}"
        text += f", {restarts} restart{'' if restarts == 1 else 's'} so far"
        if child.get("crash_looping"):
            text += ", crash-looping"
        parts.append(text)
    return "; ".join(parts)


class StatusServer:
    """``StatusServer(snapshot).start()``: serves ``snapshot()`` (a :class:`Supervisor`'s) in a
    daemon thread until :meth:`stop`."""

    def __init__(
        self, snapshot: Callable[[], dict[str, Any]], *, host: str = LOOPBACK, port: int = 0
    ) -> None:
        self._snapshot = snapshot
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> StatusServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def answer(self, path: str) -> tuple[int, str, dict[str, Any]]:
        """Status, content type and body for ``GET path``."""
        if path == "/health":
            return 200, "application/json", {"status": "ok", "service": "meshq-serve"}
        if path == "/ready":
            snap = self._snapshot()
            if snap["status"] == "ready":
                return 200, "application/json", {"service": "meshq-serve", **snap}
            return (
                503,
                _PROBLEM,
                {
                    "type": "about:blank",
                    "title": "Stack not ready",
                    "status": 503,
                    "detail": not_ready_detail(snap) or f"the stack is {snap['status']}",
                    "service": "meshq-serve",
                    "state": snap["status"],  # starting, degraded or stopping
                    "unavailable": snap["unavailable"],
                    "children": snap["children"],
                },
            )
        return 404, _PROBLEM, {"type": "about:blank", "title": "Not Found", "status": 404}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, ctype, body = server.answer(self.path.split("?", 1)[0])
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the gateway asks at every /ready."""

        return Handler
