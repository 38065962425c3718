"""The license server and the verifier against it: issue, validate, renew, expire, revoke,
purge, device seats, signatures, replay and clock skew."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from network_discovery.licensing import protocol
from network_discovery.licensing.errors import (
    AnswerTamperedError,
    ClockSkewError,
    DeviceLimitExceededError,
    LicenseExpiredError,
    LicenseInvalidError,
    LicenseNotFoundError,
)
from network_discovery.licensing.verifier import Verifier
from support.procs import wait_for

pytestmark = pytest.mark.integration


def facts(n: int = 0) -> dict[str, str]:
    return {
        "mac": f"02:00:00:00:00:{n:02x}",
        "hostname": f"host-{n}",
        "arch": "x86_64",
        "platform": "Linux",
    }


def verifier(server, key: str, tmp_path: Path, n: int = 0, **kw) -> Verifier:
    return Verifier(
        key=key,
        url=server.url,
        public_key=server.public_pem,
        state_path=tmp_path / f"state-{n}",
        facts=facts(n),
        environ={},
        **kw,
    )


def test_issue_validate_and_read_features(license_server, tmp_path: Path) -> None:
    issued = license_server.issue("pro")
    assert protocol.plan_of_key(issued["key"]) == "pro"
    v = verifier(license_server, issued["key"], tmp_path)
    status = v.verify(refresh=True)
    assert (status.plan, status.status) == ("pro", "active")
    assert status.features["api_access"] is True and status.features["oidc_sso"] is False
    assert status.features["max_network_devices"] == 750
    assert (status.devices_registered, status.devices_allowed) == (1, 5)
    assert status.expires == date.fromisoformat(issued["expiration_date"])
    # the key itself is not stored by the server: only its lookup hash
    devices = license_server.admin("GET", f"/v1/admin/licenses/{issued['key_id']}/devices")
    assert devices.status_code == 200 and len(devices.json()["devices"]) == 1
    assert issued["key"] not in devices.text


def test_renew_and_expired(license_server, tmp_path: Path) -> None:
    issued = license_server.issue("enterprise", days=-1)
    v = verifier(license_server, issued["key"], tmp_path)
    with pytest.raises(LicenseExpiredError):
        v.verify(refresh=True)
    assert v.status(refresh=True).plan == "community"
    later = (date.today() + timedelta(days=30)).isoformat()
    r = license_server.admin(
        "POST", f"/v1/admin/licenses/{issued['key_id']}/renew", json={"expiration_date": later}
    )
    assert r.status_code == 200, r.text
    status = v.verify(refresh=True)
    assert (status.plan, status.expires.isoformat()) == ("enterprise", later)


def test_revoked_then_purged_is_not_found(make_server, tmp_path: Path) -> None:
    server = make_server(MESHQ_LICENSE_REVOKED_RETENTION_S="1")
    issued = server.issue("pro")
    v = verifier(server, issued["key"], tmp_path)
    assert v.verify(refresh=True).plan == "pro"
    assert server.admin("POST", f"/v1/admin/licenses/{issued['key_id']}/revoke").status_code == 200
    with pytest.raises(LicenseInvalidError, match=r"^invalid$"):
        v.verify(refresh=True)

    def purged() -> bool:
        try:
            v.verify(refresh=True)
        except LicenseNotFoundError:
            return True
        except LicenseInvalidError:
            return False
        return False

    wait_for(purged, timeout=20, interval=0.3, what="revoked key purged")


def test_device_limit_and_deregister(license_server, tmp_path: Path) -> None:
    issued = license_server.issue("starter")  # 2 installations
    for n in range(2):
        assert verifier(license_server, issued["key"], tmp_path, n).verify(refresh=True)
    third = verifier(license_server, issued["key"], tmp_path, 2)
    with pytest.raises(DeviceLimitExceededError, match="deregister a device or upgrade") as exc:
        third.verify(refresh=True)
    assert (exc.value.registered, exc.value.allowed) == (2, 2)
    first = verifier(license_server, issued["key"], tmp_path, 0).fingerprint
    path = f"/v1/admin/licenses/{issued['key_id']}/devices/{first}"
    assert license_server.admin("DELETE", path).status_code == 204
    assert third.verify(refresh=True).devices_registered == 2


def test_admin_api_needs_the_token(license_server) -> None:
    r = httpx.post(
        f"{license_server.url}/v1/admin/licenses",
        json={"plan": "pro", "expiration_date": "2030-01-01"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    bad = license_server.admin(
        "POST", "/v1/admin/licenses", json={"plan": "gold", "expiration_date": "2030-01-01"}
    )
    assert bad.status_code == 400 and "plan" in bad.text
    assert httpx.head(f"{license_server.url}/health").status_code == 200


def test_unknown_key_is_not_found(license_server, tmp_path: Path) -> None:
    with pytest.raises(LicenseNotFoundError):
        verifier(license_server, protocol.new_license_key("pro"), tmp_path).verify(refresh=True)


class FlipByte(httpx.BaseTransport):
    """Forwards to the real server, then flips one byte of the answer's payload."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = bytearray(response.read())
        answer = json.loads(body)
        text = bytearray(answer["payload"].encode())
        i = text.index(b'"plan":"') + len(b'"plan":"')
        text[i] ^= 0x01
        answer["payload"] = text.decode()
        return httpx.Response(response.status_code, json=answer)

    def close(self) -> None:
        self._inner.close()


def test_one_flipped_byte_is_rejected(license_server, tmp_path: Path) -> None:
    issued = license_server.issue("pro")
    v = verifier(license_server, issued["key"], tmp_path, transport=FlipByte())
    with pytest.raises(AnswerTamperedError):
        v.validate()
    status = v.status(refresh=True)
    assert (status.plan, status.status) == ("community", "unverified")
    assert not (tmp_path / "state-0").exists()


def _signed(key: str, body: bytes, timestamp: str, nonce: str) -> dict[str, str]:
    secret = protocol.derive_secret(key)
    return {
        "Content-Type": "application/json",
        protocol.HEADER_KEY_ID: protocol.key_id(key),
        protocol.HEADER_TIMESTAMP: timestamp,
        protocol.HEADER_NONCE: nonce,
        protocol.HEADER_SIGNATURE: protocol.sign_request(
            secret, "POST", protocol.VALIDATE_PATH, timestamp, nonce, body
        ),
    }


def test_a_replayed_request_is_rejected(license_server) -> None:
    key = license_server.issue("pro")["key"]
    body = json.dumps({"fingerprint": "a" * 64, "hostname": "h"}).encode()
    headers = _signed(key, body, str(int(time.time())), protocol.new_nonce())
    url = license_server.url + protocol.VALIDATE_PATH
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    again = httpx.post(url, content=body, headers=headers)
    assert again.status_code == 401 and again.json()["reason"] == "replay"
    forged = {**headers, protocol.HEADER_NONCE: protocol.new_nonce()}
    r = httpx.post(url, content=body, headers=forged)
    assert r.status_code == 401 and r.json()["reason"] == "bad_signature"


@pytest.mark.parametrize("offset", [-360, 360])
def test_clock_six_minutes_off_is_rejected(license_server, tmp_path: Path, offset: int) -> None:
    key = license_server.issue("pro")["key"]
    v = verifier(license_server, key, tmp_path, clock=lambda: time.time() + offset)
    with pytest.raises(ClockSkewError, match="5 minutes"):
        v.validate()
