"""The one-time sign-in link against a running gateway: used once it sets a session cookie that
authenticates API calls as the admin; used again, after its expiry, or with the cookie altered,
it is refused; the link never carries the API key."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from meshq_query_gateway.auth import SESSION_COOKIE
from meshq_runtime.embedded.datadir import DataDir
from meshq_runtime.embedded.summary import summary, ui_link
from support.procs import wait_for

pytestmark = pytest.mark.integration

#: The package fixture ``gateway`` (conftest.Gateway): url, key, redis_url, namespace.
Gateway = Any


def _link(gw: Gateway, **body: float) -> dict[str, object]:
    response = httpx.post(
        f"{gw.url}/admin/ui-links", headers={"X-API-Key": gw.key}, json=body or None, timeout=10
    )
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


def _cookie_of(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    attributes = [part.strip() for part in header.split(";")]
    flags = {a.lower() for a in attributes[1:]}  # attribute names and these values: any case
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert any(f.startswith("max-age=") and int(f.split("=")[1]) > 0 for f in flags)
    name, _, value = attributes[0].partition("=")
    assert name == SESSION_COOKIE and value
    return value


def _with(value: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


def test_a_link_signs_in_once_and_the_cookie_works_like_the_admin_key(gateway: Gateway) -> None:
    link = _link(gateway)
    url = str(link["url"])
    assert gateway.key not in url and url.startswith(f"{gateway.url}/ui/login?token=")
    assert link["path"] == url.removeprefix(gateway.url)
    first = httpx.get(url, follow_redirects=False, timeout=10)
    assert first.status_code == 303 and first.headers["location"] == "/ui/"
    cookie = _cookie_of(first)
    # the cookie authenticates API calls, with the admin's rights
    listed = httpx.get(f"{gateway.url}/queries", headers=_with(cookie), timeout=10)
    assert listed.status_code == 200 and any(q["name"] == "all_devices" for q in listed.json())
    ran = httpx.post(
        f"{gateway.url}/queries/all_devices", headers=_with(cookie), json={}, timeout=30
    )
    assert ran.status_code == 200 and ran.json()["row_count"] > 0
    rbac = httpx.get(f"{gateway.url}/admin/rbac", headers=_with(cookie), timeout=10)
    assert rbac.status_code != 401 and rbac.status_code != 403  # an admin-only route
    # the page it lands on is served, with no other origin allowed
    page = httpx.get(f"{gateway.url}/ui/", headers=_with(cookie), timeout=10)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # used again: refused, whether a browser or a script asks
    again = httpx.get(url, follow_redirects=False, timeout=10)
    assert again.status_code == 401 and "set-cookie" not in again.headers
    assert again.headers["content-type"].startswith("application/problem+json")
    browser = httpx.get(url, headers={"Accept": "text/html"}, follow_redirects=False, timeout=10)
    assert browser.status_code == 401 and "does not work" in browser.text
    # an altered cookie is refused
    altered = cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB")
    refused = httpx.get(f"{gateway.url}/queries", headers=_with(altered), timeout=10)
    assert refused.status_code == 401
    # signing out removes the cookie
    out = httpx.post(f"{gateway.url}/ui/logout", follow_redirects=False, timeout=10)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_an_expired_link_is_refused(gateway: Gateway) -> None:
    link = _link(gateway, ttl_seconds=0.5)
    token = parse_qs(urlsplit(str(link["url"])).query)["token"][0]
    key = f"{gateway.namespace}meshq:ui:link:{token.split('.')[0]}"
    store = redis.Redis.from_url(gateway.redis_url)
    try:
        assert store.exists(key)
        wait_for(lambda: not store.exists(key), timeout=10, what="the link to expire")
    finally:
        store.close()
    response = httpx.get(str(link["url"]), follow_redirects=False, timeout=10)
    assert response.status_code == 401 and "set-cookie" not in response.headers


def test_only_the_admin_makes_links_and_a_made_up_token_is_refused(gateway: Gateway) -> None:
    assert httpx.post(f"{gateway.url}/admin/ui-links", timeout=10).status_code == 401
    bad = httpx.post(
        f"{gateway.url}/admin/ui-links",
        headers={"X-API-Key": gateway.key},
        json={"ttl_seconds": -1},
        timeout=10,
    )
    assert bad.status_code in (400, 422) and "ttl_seconds" in bad.text
    for token in ("a" * 16 + "." + "b" * 43, "nonsense", "x" * 200):
        response = httpx.get(
            f"{gateway.url}/ui/login", params={"token": token}, follow_redirects=False, timeout=10
        )
        assert response.status_code in (400, 401), token
        assert "set-cookie" not in response.headers


def test_what_meshq_serve_prints_and_writes(gateway: Gateway, tmp_path: Path) -> None:
    link = ui_link(gateway.url, gateway.key)
    assert link is not None and link.startswith(f"{gateway.url}/ui/login?token=")
    assert gateway.key not in link
    data = DataDir(tmp_path / "data")
    endpoints = {
        "gateway": gateway.url,
        "ui": link,
        "kafka": "127.0.0.1:9092",
        "postgres": "postgresql://127.0.0.1/x",
        "redis": "redis://127.0.0.1:6379/0",
    }
    printed = summary(endpoints, data, demo_mode=False)
    assert f"  web UI   {link}" in printed and "works once" in printed
    assert httpx.get(link, follow_redirects=False, timeout=10).status_code == 303
    assert httpx.get(link, follow_redirects=False, timeout=10).status_code == 401
    # a gateway that refuses (a wrong key) gives no link, and serve goes on without one
    assert ui_link(gateway.url, "not-the-key") is None


@pytest.mark.parametrize("body", [{"ttl_seconds": True}, {"ttl_seconds": "5"}, {"other": 1}])
def test_a_link_request_is_read_strictly(gateway: Gateway, body: dict[str, object]) -> None:
    response = httpx.post(
        f"{gateway.url}/admin/ui-links", headers={"X-API-Key": gateway.key}, json=body, timeout=10
    )
    assert response.status_code in (400, 422), response.text
