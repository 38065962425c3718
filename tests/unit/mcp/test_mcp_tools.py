"""Tool generation, answer shaping, dry runs, license and gateway errors (fake gateway)."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest
from mcp_fake_gateway import DEVICES, _problem
from network_discovery.mcp._tools import DEFAULT_LIMIT


def _body(result) -> dict:
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


async def test_tools_come_from_the_catalogue(connect) -> None:
    async with connect() as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"all_devices", "summary_stats", "update_device_metadata"}
    read, write = tools["all_devices"], tools["update_device_metadata"]
    assert read.annotations.readOnlyHint and not read.annotations.destructiveHint
    assert write.annotations.destructiveHint and not write.annotations.readOnlyHint
    assert {"site", "limit", "fields", "cursor"} == set(read.inputSchema["properties"])
    assert {"device", "rack", "confirm"} == set(write.inputSchema["properties"])
    assert "Every device." in read.description and "confirm" in write.description


async def test_answers_are_cut_with_a_total_and_a_hint(connect) -> None:
    async with connect() as session:
        result = await session.call_tool("all_devices", {})
        body = _body(result)
        assert body["row_count"] == DEFAULT_LIMIT and body["total"] == len(DEVICES)
        assert body["truncated"] is True and "limit" in body["hint"]
        assert ": " not in result.content[0].text  # compact JSON
        small = _body(await session.call_tool("all_devices", {"limit": 2, "fields": ["device"]}))
        assert small["rows"] == [{"device": "sw-00"}, {"device": "sw-01"}]
        assert body["next_cursor"] and "cursor" in body["hint"]
        more = _body(await session.call_tool("all_devices", {"cursor": body["next_cursor"]}))
        assert more["offset"] == DEFAULT_LIMIT and more["rows"][0]["device"] == "sw-50"
        assert more["total"] == len(DEVICES)
        whole = _body(await session.call_tool("summary_stats", {}))
        assert whole["total"] == 1 and "hint" not in whole
        unknown = await session.call_tool("all_devices", {"fields": ["nope"]})
        assert unknown.isError and "role" in unknown.content[0].text
        extra = await session.call_tool("all_devices", {"bogus": 1})
        assert extra.isError


async def test_write_is_a_dry_run_until_confirmed(connect, fake) -> None:
    async with connect() as session:
        dry = _body(
            await session.call_tool("update_device_metadata", {"device": "SW-03", "rack": "R99"})
        )
        assert dry["dry_run"] is True and dry["current"] == {"rack": "R3", "device": "sw-03"}
        assert fake.writes == []
        missing = await session.call_tool("update_device_metadata", {"device": "zz", "rack": "1"})
        assert missing.isError and "'zz'" in missing.content[0].text
        done = _body(
            await session.call_tool(
                "update_device_metadata", {"device": "sw-03", "rack": "R99", "confirm": True}
            )
        )
        assert done["rows"] == [{"device": "sw-03", "updated": True}]
        assert fake.writes == [{"device": "sw-03", "rack": "R99"}]


async def test_plan_without_mcp_server_lists_tools_but_refuses_calls(connect, fake) -> None:
    fake.license = {"plan": "starter", "features": {"mcp_server": False, "api_access": True}}
    async with connect() as session:
        assert len((await session.list_tools()).tools) == 3
        for name in ("all_devices", "update_device_metadata"):
            result = await session.call_tool(name, {"device": "sw-01"} if "update" in name else {})
            assert result.isError
            text = result.content[0].text
            assert "mcp_server" in text and "starter" in text
    assert not [r for r in fake.seen if r.url.path.startswith("/queries/")]


async def test_plan_with_mcp_server_and_unknown_plan_both_run(connect, fake) -> None:
    fake.license = {"plan": "pro", "features": {"mcp_server": True}}
    async with connect() as session:
        assert not (await session.call_tool("summary_stats", {})).isError
    fake.license = None
    async with connect() as session:
        assert not (await session.call_tool("summary_stats", {})).isError
        health = json.loads(
            (await session.read_resource("network://health/platform")).contents[0].text
        )
        assert health["license"]["known"] is False and "license" in health["license"]["note"]


async def test_gateway_errors_become_tool_errors(connect, fake) -> None:
    fake.fail["all_devices"] = _problem(403, "Forbidden", "role viewer may not run all_devices")
    fake.fail["summary_stats"] = _problem(429, "Too Many Requests", "5 per minute")
    async with connect() as session:
        denied = await session.call_tool("all_devices", {})
        assert denied.isError and "403" in denied.content[0].text
        assert "role viewer may not run all_devices" in denied.content[0].text
        slow = await session.call_tool("summary_stats", {})
        assert (
            slow.isError
            and "429" in slow.content[0].text
            and "5 per minute" in (slow.content[0].text)
        )
        fake.fail["summary_stats"] = httpx.Response(502, text="<html>bad gateway</html>")
        odd = await session.call_tool("summary_stats", {})
        assert odd.isError and "502" in odd.content[0].text
        unknown = await session.call_tool("no_such_tool", {})
        assert unknown.isError and "no_such_tool" in unknown.content[0].text


async def test_gateway_down_is_a_tool_error_and_the_server_stays_up(connect, fake) -> None:
    async with connect() as session:
        assert not (await session.call_tool("summary_stats", {})).isError
        fake.down = True
        down = await session.call_tool("summary_stats", {})
        assert down.isError and "did not answer" in down.content[0].text
        assert "MESHOPTIXIQ_API_URL" in down.content[0].text
        fake.down = False
        assert not (await session.call_tool("summary_stats", {})).isError


async def test_bad_key_is_a_tool_error_naming_the_variable(connect) -> None:
    async with connect(key="wrong") as session:
        result = await session.call_tool("summary_stats", {})
    assert result.isError and "401" in result.content[0].text
    assert "MESHOPTIXIQ_API_KEY" in result.content[0].text


def test_own_arguments_never_shadow_a_querys_parameters() -> None:
    from network_discovery.mcp._tools import tool_from_query

    query = {
        "name": "top_talkers",
        "writes": False,
        "parameters": {"type": "object", "properties": {"limit": {"type": "integer"}}},
        "row_schema": {
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"$ref": "#/$defs/A"}},
            "$defs": {"A": {"type": "string"}},
        },
    }
    tool = tool_from_query(query)
    assert tool.inputSchema["properties"]["limit"] == {"type": "integer"}
    assert "fields" in tool.inputSchema["properties"]
    items = tool.outputSchema["properties"]["rows"]["items"]
    assert "required" not in items and tool.outputSchema["$defs"] == {"A": {"type": "string"}}


async def test_output_schemas_type_the_rows_and_answers_are_checked_against_them(
    connect, fake
) -> None:
    async with connect() as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        read, write = tools["all_devices"], tools["update_device_metadata"]
        for tool in tools.values():
            jsonschema.Draft202012Validator.check_schema(tool.outputSchema)
        items = read.outputSchema["properties"]["rows"]["items"]
        assert set(items["properties"]) == {"device", "role", "rack"}
        assert items["additionalProperties"] is False and "required" not in items
        assert read.outputSchema["$defs"]["Role"]["enum"] == ["access", "core"]
        assert read.outputSchema["required"] == ["query", "rows", "row_count", "total"]
        # summary_stats publishes no row model: its rows are any objects.
        assert tools["summary_stats"].outputSchema["properties"]["rows"]["items"] == {
            "type": "object"
        }

        # Every shape an answer takes validates: cut, trimmed, paged, dry run, applied.
        answers = [
            (read, {"limit": 3}),
            (read, {"fields": ["role"]}),
            (read, {"cursor": "50"}),
            (write, {"device": "sw-01", "rack": "R1"}),
            (write, {"device": "sw-01", "rack": "R1", "confirm": True}),
        ]
        for tool, args in answers:
            body = _body(await session.call_tool(tool.name, args))
            jsonschema.validate(body, tool.outputSchema)

        # A row that breaks the published row model is refused, not passed on.
        fake.device_rows = [{"device": "sw-00", "role": "spine", "rack": "R0"}]
        bad = await session.call_tool("all_devices", {})
        assert bad.isError and "'spine' is not one of" in bad.content[0].text
        fake.device_rows = [{"device": "sw-00", "role": "core", "rack": "R0", "extra": 1}]
        bad = await session.call_tool("all_devices", {})
        assert bad.isError and "extra" in bad.content[0].text


async def test_resources_follow_the_queries_behind_them(connect, fake) -> None:
    """A resource whose query the gateway does not serve is neither listed nor readable; the
    others read the query's answer."""
    from mcp.shared.exceptions import McpError

    async with connect() as session:
        uris = {str(r.uri) for r in (await session.list_resources()).resources}
        assert uris == {"network://inventory/summary", "network://health/platform"}
        summary = json.loads(
            (await session.read_resource("network://inventory/summary")).contents[0].text
        )
        assert summary["rows"] == [{"devices": len(DEVICES)}]
        with pytest.raises(McpError, match="all_firewall_devices query"):
            await session.read_resource("network://firewall/devices")
        with pytest.raises(McpError, match="meshq_alerts_list query"):
            await session.read_resource("network://alerts/active")
        with pytest.raises(McpError, match="meshq_compliance_results query"):
            await session.read_resource("network://compliance/latest")
        with pytest.raises(McpError, match="no resource"):
            await session.read_resource("network://compliance/nothing")
    assert not [r for r in fake.seen if r.url.path.endswith("/all_firewall_devices")]
