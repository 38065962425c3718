"""``GET /map/view`` kept per graph revision in the gateway: the same view asked again is
served from what was kept (``Cache-Status: hit``) and equals the first answer; a change to the
graph (a new revision) is drawn on the next call, never the kept view of the older one."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

#: The package fixture ``gateway`` (conftest.Gateway): url, key, redis_url, namespace.
Gateway = Any


def _get(gw: Gateway, path: str, **params: Any) -> httpx.Response:
    answer = httpx.get(f"{gw.url}{path}", params=params, headers={"X-API-Key": gw.key}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer


def _following(gw: Gateway) -> None:
    deadline = time.monotonic() + 30
    while True:
        state = _get(gw, "/health/platform").json()["answer_cache"]
        if state["following"]:
            return
        assert time.monotonic() < deadline, f"the answer cache never followed: {state}"
        time.sleep(0.2)


def _criticality(view: dict[str, Any], device: str) -> Any:
    return next(n["criticality"] for n in view["nodes"] if n["id"] == device)


def _set_criticality(gw: Gateway, device: str, value: str | None) -> None:
    answer = httpx.post(
        f"{gw.url}/queries/update_device_metadata",
        json={"device": device, "criticality": value},
        headers={"X-API-Key": gw.key},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


def test_a_view_is_kept_per_revision_and_a_change_is_drawn(gateway: Gateway) -> None:
    _following(gateway)
    first = _get(gateway, "/map/view")
    again = _get(gateway, "/map/view")
    # the first call of a revision reads the graph; the same view again is what was kept
    assert again.headers["cache-status"] == "meshq-map; hit"
    assert again.json() == first.json()
    # the same view asked in another order is the same view
    device = next(n["id"] for n in first.json()["nodes"] if n["managed"])
    one = _get(gateway, "/map/view", show=[device, device])
    assert _get(gateway, "/map/view", show=[device]).headers["cache-status"].endswith("hit")
    assert one.json()["expanded"] == first.json()["expanded"]

    before = _criticality(first.json(), device)
    after = "low" if before != "low" else "high"
    _set_criticality(gateway, device, after)
    try:
        deadline = time.monotonic() + 15
        while True:
            view = _get(gateway, "/map/view")
            if _criticality(view.json(), device) == after:
                break
            assert time.monotonic() < deadline, "the kept view of the older revision stayed"
            time.sleep(0.2)
        assert "miss" in view.headers["cache-status"]
        assert _get(gateway, "/map/view").headers["cache-status"] == "meshq-map; hit"
        # search reads the same kept network, of the new revision
        found = _get(gateway, "/map/find", q=device).json()["devices"]
        assert found[0]["id"] == device and found[0]["criticality"] == after
    finally:
        _set_criticality(gateway, device, before)
