"""The license agent's state change as it travels on the license topic: what a service's
``LicenseFollower`` reads, published here without running the agent and its license server."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import LicenseState, LicenseStateData
from network_discovery.licensing.plans import features_for

__all__ = ["publish_license"]


async def publish_license(
    env: dict[str, str], plan: str, revision: int = 1, **features: bool
) -> None:
    """Publish the plan's state as the agent does; ``features`` overrides single flags (a
    key issued with a custom feature set)."""
    event = LicenseState(
        source="licensing",
        subject="installation",
        data=LicenseStateData(
            plan=plan,  # type: ignore[arg-type]
            status="active",
            features={**features_for(plan), **features},
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
