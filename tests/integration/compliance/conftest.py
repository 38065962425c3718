"""The demo network in a real graph engine behind a real gateway, for ``meshq compliance``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from support.demo_stack import keyed_demo_stack


@dataclass
class ComplianceGateway:
    url: str
    key: str
    #: The stack's environment and its graph engine (snapshots are submitted there).
    env: dict[str, str]
    graph_url: str


@pytest.fixture(scope="package")
def compliance_gateway(
    stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComplianceGateway]:
    tmp = tmp_path_factory.mktemp("compliance-gateway")
    with keyed_demo_stack(stack, tmp) as (key, running):
        yield ComplianceGateway(
            url=running.gateway.url, key=key, env=running.env, graph_url=running.graph.url
        )
