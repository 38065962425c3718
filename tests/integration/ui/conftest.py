"""The demo network in a real graph engine behind a real gateway, for the web UI's sign-in and
the readable ``meshq query`` output."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from support.demo_stack import keyed_demo_stack

pytestmark = pytest.mark.integration


@dataclass
class Gateway:
    url: str
    key: str
    redis_url: str
    namespace: str


@pytest.fixture(scope="package")
def gateway(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("ui-gateway")
    with keyed_demo_stack(stack, tmp) as (key, running):
        yield Gateway(
            url=running.gateway.url,
            key=key,
            redis_url=stack.redis_url,
            namespace=running.env["MESHQ_KAFKA_TOPIC_PREFIX"],
        )
