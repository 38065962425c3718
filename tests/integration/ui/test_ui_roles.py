"""The web UI's session carries the principal that signed in, against a running gateway with an
RBAC policy and single sign-on at a local OpenID Connect provider:

- the sign-in form takes an API key in its body and signs in as that key's principal, with its
  RBAC (a read-only key is refused what its policy does not grant, in words); revoking the key
  ends the session; a wrong key, or a form posted from another site, sets nothing;
- single sign-on runs the authorization code flow with PKCE and signs in as the token's user
  with its groups' roles; an answer that does not belong to the sign-in (state, nonce) or a
  provider's refusal sets nothing and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from meshq_query_gateway.auth import SESSION_COOKIE
from network_discovery.cli.apikey import apikey
from support.demo_stack import keyed_demo_stack
from support.oidc_provider import OidcProvider
from support.procs import wait_for

pytestmark = pytest.mark.integration

POLICY = """\
roles:
  viewer:
    resources: ["all_devices", "topology_edges", "device_neighbors"]
    verbs: ["list", "execute"]
  security:
    resources: ["path_analysis", "firewall_*"]
    verbs: ["list", "execute"]
groups:
  "Viewers": {roles: [viewer]}
  "Security-Team": {roles: [viewer, security]}
"""


@dataclass
class SsoGateway:
    url: str
    key: str
    keys_file: Path
    idp: OidcProvider


@pytest.fixture(scope="module")
def sso_gateway(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoGateway]:
    tmp = tmp_path_factory.mktemp("ui-roles")
    policy = tmp / "rbac.yaml"
    policy.write_text(POLICY)
    idp = OidcProvider(groups=["Security-Team", "Somebody-Else"])
    try:
        with keyed_demo_stack(
            stack,
            tmp,
            AUTH_MODE="both",
            RBAC_POLICY_FILE=str(policy),
            **idp.env(audience="api://meshq"),
        ) as (key, running):
            yield SsoGateway(running.gateway.url, key, tmp / "api_keys.json", idp)
    finally:
        idp.close()


def _make_key(gw: SsoGateway, name: str, *groups: str) -> str:
    args = ["create", name, "--file", str(gw.keys_file)]
    for group in groups:
        args += ["--group", group]
    result = CliRunner().invoke(apikey, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def _session_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == SESSION_COOKIE:
            value = rest.split(";")[0]
            assert value and "samesite=strict" in header.lower() and "httponly" in header.lower()
            return value
    raise AssertionError(f"no session cookie in {response.headers.get_list('set-cookie')}")


def _with(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={cookie}"}


def _key_login(gw: SsoGateway, key: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{gw.url}/ui/login",
        data={"api_key": key, "next": "/ui/map"},
        headers=headers,
        follow_redirects=False,
        timeout=10,
    )


def test_a_named_key_signs_in_as_itself_with_its_roles(sso_gateway: SsoGateway) -> None:
    gw = sso_gateway
    key = _make_key(gw, "ro-viewer", "Viewers")
    signed = _key_login(gw, key)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/map"
    cookie = _session_cookie(signed)
    assert key not in cookie and key not in signed.headers["location"]
    me = httpx.get(f"{gw.url}/ui/session", headers=_with(cookie), timeout=10).json()
    assert me["signed_in"] and me["name"] == "ro-viewer" and me["method"] == "api_key"
    assert me["roles"] == ["viewer"] and me["admin"] is False and me["rbac"] is True
    # what the policy grants runs; what it does not is refused, in words
    devices = httpx.post(
        f"{gw.url}/queries/all_devices", json={}, headers=_with(cookie), timeout=30
    )
    assert devices.status_code == 200 and devices.json()["row_count"] > 0
    denied = httpx.post(
        f"{gw.url}/queries/path_analysis",
        json={"source": "10.1.10.50", "destination": "10.130.0.20"},
        headers=_with(cookie),
        timeout=30,
    )
    assert denied.status_code == 403
    assert "'execute' on 'path_analysis'" in denied.json()["detail"]
    admin_only = httpx.post(f"{gw.url}/admin/ui-links", headers=_with(cookie), timeout=10)
    assert admin_only.status_code == 403
    # revoking the key ends the session on the next call (the key file is re-read)
    result = CliRunner().invoke(apikey, ["revoke", "ro-viewer", "--file", str(gw.keys_file)])
    assert result.exit_code == 0, result.output

    def refused() -> bool:
        answer = httpx.get(f"{gw.url}/map/find?q=hq", headers=_with(cookie), timeout=10)
        return answer.status_code == 401 and "revoked" in answer.json()["detail"]

    wait_for(refused, timeout=10)
    me = httpx.get(f"{gw.url}/ui/session", headers=_with(cookie), timeout=10).json()
    assert me["signed_in"] is False and "revoked" in me["problem"]


def test_the_admin_key_signs_in_as_the_admin(sso_gateway: SsoGateway) -> None:
    cookie = _session_cookie(_key_login(sso_gateway, sso_gateway.key))
    me = httpx.get(f"{sso_gateway.url}/ui/session", headers=_with(cookie), timeout=10).json()
    assert me["name"] == "admin" and me["admin"] is True and me["roles"] == ["admin"]
    assert me["sign_in"] == {"api_key": True, "oidc": True, "link": True}


def test_a_wrong_key_or_another_sites_form_sets_nothing(sso_gateway: SsoGateway) -> None:
    gw = sso_gateway
    wrong = _key_login(gw, "mqk_nothere_" + "x" * 40)
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    key = _make_key(gw, "ro-other-site", "Viewers")
    cross = _key_login(gw, key, Origin="http://evil.example")
    assert cross.status_code == 403 and SESSION_COOKIE not in cross.headers.get("set-cookie", "")
    anonymous = httpx.get(f"{gw.url}/ui/session", timeout=10).json()
    assert anonymous["signed_in"] is False and anonymous["sign_in"]["oidc"] is True


def _sso(gw: SsoGateway, client: httpx.Client, next_page: str = "/ui/map") -> httpx.Response:
    """Start, follow the provider, and return the gateway's answer to the callback."""
    start = client.get(f"{gw.url}/ui/oidc/start", params={"next": next_page})
    assert start.status_code == 303
    to_idp = urlsplit(start.headers["location"])
    asked = parse_qs(to_idp.query)
    assert f"{to_idp.scheme}://{to_idp.netloc}" == gw.idp.base
    assert asked["code_challenge_method"] == ["S256"] and asked["client_id"] == ["meshq-ui"]
    back = client.get(start.headers["location"])
    assert back.status_code == 302
    return client.get(back.headers["location"])


def test_single_sign_on_signs_in_as_the_token_user_with_its_roles(
    sso_gateway: SsoGateway,
) -> None:
    gw = sso_gateway
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        done = _sso(gw, client)
        assert done.status_code == 303 and done.headers["location"] == "/ui/map", done.text
        cookie = _session_cookie(done)
    exchange = gw.idp.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    me = httpx.get(f"{gw.url}/ui/session", headers=_with(cookie), timeout=10).json()
    assert me["name"] == "ana@example.test" and me["method"] == "oidc"
    # only the groups the policy names are kept, and they give their roles
    assert me["groups"] == ["Security-Team"] and me["roles"] == ["security", "viewer"]
    ran = httpx.post(
        f"{gw.url}/queries/path_analysis",
        json={
            "source": "10.1.10.50",
            "destination": "10.130.0.20",
            "protocol": "tcp",
            "port": 5432,
        },
        headers=_with(cookie),
        timeout=60,
    )
    assert ran.status_code == 200, ran.text
    denied = httpx.post(
        f"{gw.url}/queries/orphaned_ips", json={}, headers=_with(cookie), timeout=30
    )
    assert denied.status_code == 403


def test_a_sign_in_answer_that_does_not_belong_sets_nothing(sso_gateway: SsoGateway) -> None:
    gw = sso_gateway
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        gw.idp.refuse_with = "access_denied"
        refused = _sso(gw, client)
        assert refused.status_code == 401 and "access_denied" in refused.text
        gw.idp.wrong_nonce = "not-the-one"
        replayed = _sso(gw, client)
        assert replayed.status_code == 401 and "nonce" in replayed.text
        for answer in (refused, replayed):
            assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        # a callback whose state is not the one this browser started with
        start = client.get(f"{gw.url}/ui/oidc/start")
        back = client.get(start.headers["location"])
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        forged = client.get(f"{gw.url}/ui/oidc/callback", params={"code": code, "state": "made-up"})
        assert forged.status_code == 401 and "does not belong" in forged.text
    # without the flow cookie (another browser) nothing is exchanged either
    stranger = httpx.get(
        f"{gw.url}/ui/oidc/callback", params={"code": code, "state": "x"}, timeout=10
    )
    assert stranger.status_code == 401 and "not started here" in stranger.text


def test_a_kept_map_view_is_still_refused_to_whom_rbac_denies(sso_gateway: SsoGateway) -> None:
    gw = sso_gateway
    admin = {"X-API-Key": gw.key}
    httpx.get(f"{gw.url}/map/view", headers=admin, timeout=60)
    kept = httpx.get(f"{gw.url}/map/view", headers=admin, timeout=60)
    assert kept.status_code == 200 and kept.headers["cache-status"] == "meshq-map; hit"
    nobody = _make_key(gw, "no-roles", "Nobody")
    answers: list[httpx.Response] = []

    def known() -> bool:  # the key file is read again at most once a second
        answers.append(httpx.get(f"{gw.url}/map/view", headers={"X-API-Key": nobody}, timeout=60))
        return answers[-1].status_code != 401

    wait_for(known, timeout=10)
    refused = answers[-1]
    assert refused.status_code == 403 and "all_devices" in refused.json()["detail"]
