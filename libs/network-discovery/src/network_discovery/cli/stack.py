"""Finding a running stack: the environment first, else ``meshq serve``'s endpoints file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from network_discovery.cli._common import CliError

__all__ = ["Stack", "StackNotFound", "endpoints_file", "find_stack"]


class StackNotFound(CliError):
    """No stack to talk to, or it cannot be reached."""


@dataclass(frozen=True)
class Stack:
    api_url: str | None
    api_key: str | None
    kafka: str | None
    topic_prefix: str = ""

    def need_api(self) -> tuple[str, str]:
        if not self.api_url:
            raise StackNotFound(_HOW)
        if not self.api_key:
            raise StackNotFound("no API key: set MESHOPTIXIQ_API_KEY")
        return self.api_url.rstrip("/"), self.api_key

    def need_kafka(self) -> str:
        if not self.kafka:
            raise StackNotFound(_HOW)
        return self.kafka


_HOW = (
    "no running MeshOptixIQ stack found: start one with 'meshq serve' (or 'make run'), "
    "or set MESHOPTIXIQ_API_URL, MESHOPTIXIQ_API_KEY and MESHQ_KAFKA_BOOTSTRAP"
)


def endpoints_file() -> Path:
    base = os.environ.get("MESHQ_DATA_DIR") or str(Path.home() / ".meshoptixiq" / "data")
    return Path(base).expanduser() / "run" / "endpoints.json"


def find_stack() -> Stack:
    """The stack named by the environment, else the one ``meshq serve`` runs locally."""
    env = os.environ
    from_file: dict[str, str] = {}
    path = endpoints_file()
    if path.exists():
        try:
            from_file = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StackNotFound(f"cannot read {path}: {exc}") from exc
    return Stack(
        api_url=env.get("MESHOPTIXIQ_API_URL") or from_file.get("gateway"),
        api_key=env.get("MESHOPTIXIQ_API_KEY") or from_file.get("api_key"),
        kafka=env.get("MESHQ_KAFKA_BOOTSTRAP") or from_file.get("kafka"),
        topic_prefix=env.get("MESHQ_KAFKA_TOPIC_PREFIX", ""),
    )
