"""Request signing, answer signatures and the sealed state, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.licensing import protocol
from network_discovery.licensing.errors import AnswerTamperedError
from network_discovery.licensing.sealed import FileCache, SealError, seal, unseal


@pytest.fixture(scope="module")
def pair():
    from cryptography.hazmat.primitives import serialization

    private_pem, public_pem = protocol.generate_key_pair(2048)
    return (
        serialization.load_pem_private_key(private_pem.encode(), None),
        protocol.load_public_key(public_pem),
    )


def test_keys_and_request_signatures() -> None:
    key = protocol.new_license_key("pro")
    assert protocol.plan_of_key(key) == "pro" and protocol.KEY_RE.match(key)
    assert protocol.key_id(key) != key and len(protocol.key_id(key)) == 64
    secret = protocol.derive_secret(key)
    sig = protocol.sign_request(secret, "POST", "/p", "1", "n", b"{}")
    assert protocol.verify_request(secret, sig, "POST", "/p", "1", "n", b"{}")
    assert not protocol.verify_request(secret, sig, "POST", "/p", "1", "n", b"{ }")
    assert not protocol.verify_request(secret, sig, "POST", "/p", "2", "n", b"{}")
    assert not protocol.verify_request(
        protocol.derive_secret(protocol.new_license_key("pro")), sig, "POST", "/p", "1", "n", b"{}"
    )


def test_answers_are_verified_byte_for_byte(pair) -> None:
    private, public = pair
    answer = protocol.sign_answer(private, {"plan": "pro", "nonce": "x"})
    assert protocol.open_answer(public, answer)["plan"] == "pro"
    for i in range(len(answer["payload"])):
        flipped = bytearray(answer["payload"].encode())
        flipped[i] ^= 0x01
        with pytest.raises(AnswerTamperedError):
            protocol.open_answer(public, {**answer, "payload": flipped.decode("latin-1")})
    with pytest.raises(AnswerTamperedError):
        protocol.open_answer(public, {"payload": answer["payload"]})
    other = protocol.load_public_key(protocol.generate_key_pair(2048)[1])
    with pytest.raises(AnswerTamperedError):
        protocol.open_answer(other, answer)


def test_sealed_state_is_bound(tmp_path: Path) -> None:
    blob = seal(b"k1", b"b1", {"a": 1})
    assert unseal(b"k1", b"b1", blob) == {"a": 1}
    for material, binding in ((b"k2", b"b1"), (b"k1", b"b2")):
        with pytest.raises(SealError):
            unseal(material, binding, blob)
    cache = FileCache(tmp_path / "s", "mq-pro-aaaaaaaa", "f" * 64)
    cache.save({"x": 2})
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o600
    assert cache.load() == {"x": 2}
    assert FileCache(tmp_path / "s", "mq-pro-bbbbbbbb", "f" * 64).load() is None
    assert not (tmp_path / "s").exists()  # a foreign file is discarded


def test_a_signed_refusal_is_kept_only_for_this_request(pair) -> None:
    """A 403/402/409 may carry the server's signed refusal; the client keeps it on the error
    when it verifies and echoes this request (nonce, key, fingerprint), and drops it else."""
    import json

    import httpx
    from network_discovery.licensing import client
    from network_discovery.licensing.errors import LicenseInvalidError

    private, public = pair
    key, fingerprint = protocol.new_license_key("pro"), "f" * 64

    def run(tamper: dict) -> LicenseInvalidError:
        def answer(request: httpx.Request) -> httpx.Response:
            payload = {
                "key_id": request.headers[protocol.HEADER_KEY_ID],
                "nonce": request.headers[protocol.HEADER_NONCE],
                "fingerprint": json.loads(request.content)["fingerprint"],
                "refused": "revoked",
                "issued_at": "2030-01-01T00:00:00+00:00",
                **tamper,
            }
            body = {"title": "License revoked", "reason": "revoked"}
            body["answer"] = protocol.sign_answer(private, payload)
            return httpx.Response(403, json=body)

        with pytest.raises(LicenseInvalidError) as err:
            client.validate(
                key,
                url="http://server",
                public_key=public,
                fingerprint=fingerprint,
                facts={},
                transport=httpx.MockTransport(answer),
            )
        return err.value

    kept = run({})
    assert kept.answer is not None
    assert json.loads(kept.answer["payload"])["refused"] == "revoked"
    for tamper in ({"nonce": "0" * 32}, {"fingerprint": "e" * 64}, {"refused": None}):
        assert run(tamper).answer is None
