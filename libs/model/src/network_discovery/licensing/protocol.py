"""The wire protocol between a verifier and the license server, shared by both sides.

Request signing (HMAC-SHA256): the client derives a per-key secret with HKDF from the key
itself and signs ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(BODY)``. The key never travels:
the request names it by its lookup hash (``X-MeshQ-Key-Id``). The server keeps that hash and
the derived secret (encrypted), never the key.

Answers: ``{"payload": "<json text>", "signature": "<base64 RSA-PSS-SHA256 over the text>"}``.
The payload echoes the request's nonce and the fingerprint, so an old answer cannot be replayed
to a client as a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from network_discovery.licensing.errors import AnswerTamperedError

__all__ = [
    "HEADER_KEY_ID",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "KEY_RE",
    "MAX_SKEW_S",
    "VALIDATE_PATH",
    "canonical_request",
    "derive_secret",
    "generate_key_pair",
    "key_id",
    "load_public_key",
    "new_license_key",
    "new_nonce",
    "open_answer",
    "plan_of_key",
    "sign_answer",
    "sign_request",
    "verify_request",
]

VALIDATE_PATH = "/v1/licenses/validate"
HEADER_KEY_ID = "X-MeshQ-Key-Id"
HEADER_TIMESTAMP = "X-MeshQ-Timestamp"
HEADER_NONCE = "X-MeshQ-Nonce"
HEADER_SIGNATURE = "X-MeshQ-Signature"
MAX_SKEW_S = 300

KEY_RE = re.compile(r"^mq-(community|starter|pro|enterprise)-[A-Za-z0-9]{8,128}$")
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def new_license_key(plan: str) -> str:
    """A fresh key ``mq-<plan>-<40 hex characters>``."""
    key = f"mq-{plan}-{secrets.token_hex(20)}"
    if not KEY_RE.match(key):
        raise ValueError(f"unknown plan {plan!r}")
    return key


def plan_of_key(key: str) -> str | None:
    match = KEY_RE.match(key)
    return match.group(1) if match else None


def key_id(key: str) -> str:
    """The lookup hash of a key: what the server stores and the request names."""
    return hashlib.sha256(b"meshq-license-id:v1:" + key.encode()).hexdigest()


def derive_secret(key: str) -> bytes:
    """The HMAC secret of a key (HKDF-SHA256); the server stores it encrypted."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"meshq-license", info=b"hmac-v1"
    ).derive(key.encode())


def new_nonce() -> str:
    return secrets.token_hex(16)


def canonical_request(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, timestamp, nonce, digest]).encode()


def sign_request(
    secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    mac = hmac.new(secret, canonical_request(method, path, timestamp, nonce, body), "sha256")
    return mac.hexdigest()


def verify_request(
    secret: bytes,
    signature: str,
    method: str,
    path: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> bool:
    """Constant-time comparison of a request's signature."""
    expected = sign_request(secret, method, path, timestamp, nonce, body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def generate_key_pair(bits: int = 3072) -> tuple[str, str]:
    """A new RSA signing key pair as (private PEM, public PEM), for a self-hosted server."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the license public key must be an RSA key")
    return key


def sign_answer(private_key: rsa.RSAPrivateKey, payload: dict[str, Any]) -> dict[str, str]:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    signature = private_key.sign(text.encode(), _PSS, hashes.SHA256())
    return {"payload": text, "signature": base64.b64encode(signature).decode()}


def open_answer(public_key: rsa.RSAPublicKey, answer: Any) -> dict[str, Any]:
    """The payload of a signed answer, or :class:`LicenseInvalidError` when it is not genuine."""
    if not isinstance(answer, dict):
        raise AnswerTamperedError("license answer is not a signed object")
    text, signature = answer.get("payload"), answer.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise AnswerTamperedError("license answer is unsigned")
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True), text.encode(), _PSS, hashes.SHA256()
        )
    except (InvalidSignature, ValueError) as exc:
        raise AnswerTamperedError("license answer signature is invalid") from exc
    payload = json.loads(text)
    if not isinstance(payload, dict):
        raise AnswerTamperedError("license answer payload is not an object")
    return payload
