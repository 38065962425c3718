"""Prompts: real procedures, arguments embedded, only served tools named, degrade said aloud."""

from __future__ import annotations

import re

import pytest
from mcp.shared.exceptions import McpError
from mcp_fake_gateway import CATALOGUE
from meshq_graph_engine.catalogue import REGISTRY
from network_discovery.mcp._prompts import PROMPTS, render, tools_named
from network_discovery.mcp._tools import own_arguments
from support.mcp_guide import GUIDE_TOOLS

#: Every tool a query of the catalogue is or will be (the guide's categories built so far).
EVERY = {s.tool for p in PROMPTS for s in p.steps}
ARGS = {
    "device": "hq-core-01",
    "symptom": "slow",
    "change": "reboot",
    "address": "10.1.10.20",
    "cidr": "10.1.0.0/16",
    "site": "hq",
}


def _given(prompt) -> dict[str, str]:
    return {a.name: ARGS[a.name] for a in prompt.arguments}


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.name)
def test_with_every_tool_served_each_prompt_is_a_procedure(prompt) -> None:
    text = render(prompt.name, _given(prompt), EVERY).messages[0].content.text
    named = tools_named(text)
    assert named == [s.tool for s in prompt.steps] and len(named) >= 3
    assert "Look for:" in text and "Not available" not in text
    for value in _given(prompt).values():
        assert value in text


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.name)
def test_a_prompt_names_only_served_tools_and_says_what_is_missing(prompt) -> None:
    served = EVERY - {"blast_radius_device", "path_analysis", "all_firewall_devices"}
    text = render(prompt.name, _given(prompt), served).messages[0].content.text
    assert set(tools_named(text)) <= served
    missing = [s.tool for s in prompt.steps if s.tool not in served]
    if missing:
        assert "Not available on this server" in text
        assert all(tool in text.split("Not available")[1] for tool in missing)


def test_required_arguments_are_asked_for() -> None:
    with pytest.raises(ValueError, match="cidr"):
        render("network_addressing_audit", {}, EVERY)
    with pytest.raises(ValueError, match="no prompt"):
        render("nope", {}, EVERY)


async def test_prompts_over_mcp_name_only_tools_in_tools_list(connect) -> None:
    served = {q["name"] for q in CATALOGUE}
    async with connect() as session:
        assert {t.name for t in (await session.list_tools()).tools} == served
        prompts = (await session.list_prompts()).prompts
        assert len(prompts) == 6
        for prompt in prompts:
            text = (await session.get_prompt(prompt.name, _given(prompt))).messages[0]
            assert set(tools_named(text.content.text)) <= served
        with pytest.raises(McpError, match="cidr"):
            await session.get_prompt("network_addressing_audit", {})


def test_every_tool_a_prompt_names_is_in_the_guides_table() -> None:
    """No typo sends a model to a tool that will never exist."""
    table = set().union(*GUIDE_TOOLS.values())
    assert EVERY <= table | set(REGISTRY), EVERY - table - set(REGISTRY)


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.name)
def test_each_step_passes_arguments_its_tool_takes(prompt) -> None:
    """``name=value`` in a step's call is a parameter of the query (or limit/fields), for
    every tool whose query exists."""
    for step in prompt.steps:
        query = REGISTRY.get(step.tool)
        if query is None:
            continue
        described = {"parameters": query.params.model_json_schema(), "writes": query.writes}
        takes = set(described["parameters"].get("properties", {})) | own_arguments(described)
        given = set(re.findall(r"\b([a-z_]+)=", step.call))
        assert given <= takes, (step.tool, given - takes)
