"""API keys: missing, wrong and right, on the gateway's own middleware."""

from __future__ import annotations

from litestar import get
from litestar.testing import TestClient
from meshq_query_gateway.auth import ApiKeyMiddleware
from meshq_runtime.http import build_app
from pydantic import SecretStr


@get("/queries")
async def queries() -> list[str]:
    return ["ok"]


def _client(key: str | None) -> TestClient:
    app = build_app(
        service="gw",
        route_handlers=[queries],
        middleware_extra=[ApiKeyMiddleware(SecretStr(key) if key else None)],
    )
    return TestClient(app)


def test_probes_and_schema_are_open() -> None:
    with _client("right-key") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/schema/openapi.json").status_code == 200


def test_missing_wrong_and_right_keys() -> None:
    with _client("right-key") as client:
        missing = client.get("/queries")
        wrong = client.get("/queries", headers={"X-API-Key": "wrong-key"})
        right = client.get("/queries", headers={"X-API-Key": "right-key"})
    assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
    assert wrong.status_code == 401 and wrong.json()["detail"] == "the X-API-Key is not valid"
    assert right.status_code == 200 and right.json() == ["ok"]


def test_gateway_without_a_configured_key_refuses_everyone() -> None:
    with _client(None) as client:
        response = client.get("/queries", headers={"X-API-Key": ""})
    assert response.status_code == 401
    assert "set API_KEY" in response.json()["detail"]
