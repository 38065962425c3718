"""Helpers for the gateway's integration tests: named keys, license events, problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from click.testing import CliRunner
from network_discovery.cli.apikey import apikey
from network_discovery.contracts import topics
from network_discovery.contracts.events import LicenseState, LicenseStateData
from network_discovery.licensing.plans import features_for

ADMIN_KEY = "gw-admin-" + "k" * 32


def make_key(keys_file: Path, name: str, *groups: str) -> str:
    args = ["create", name, "--file", str(keys_file)]
    for group in groups:
        args += ["--group", group]
    result = CliRunner().invoke(apikey, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


async def publish_license(env: dict[str, str], plan: str, revision: int = 1) -> None:
    event = LicenseState(
        source="licensing",
        subject="installation",
        data=LicenseStateData(
            plan=plan,  # type: ignore[arg-type]
            status="active",
            features=features_for(plan),
            revision=revision,
            licensed_plan=plan,  # type: ignore[arg-type]
        ),
    )
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.LICENSE_EVENTS.name
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"license")
    finally:
        await producer.stop()


def problem(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    return body
