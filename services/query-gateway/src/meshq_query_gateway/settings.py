"""Query gateway settings: one environment variable per field (the alias)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from meshq_runtime.audit_confirm import AuditReceiptSettings
from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    RedisSettings,
    ServiceSettings,
)
from pydantic import Field, SecretStr, field_validator, model_validator

from meshq_query_gateway.oidc import entra_endpoints

__all__ = ["DEFAULT_RATE_LIMITS", "BrowserSignIn", "Settings", "parse_rate"]

#: Per-identity limits per route, ``"METHOD /path/template" -> "N/second|minute|hour"``.
DEFAULT_RATE_LIMITS: dict[str, str] = {"POST /graph/chaos-simulate": "5/minute"}

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class BrowserSignIn:
    """The web UI's single sign-on: an authorization code flow with PKCE at the provider."""

    client_id: str
    authorize_url: str
    token_url: str
    scopes: str
    client_secret: SecretStr | None
    redirect_url: str | None


def parse_rate(text: str) -> tuple[int, int]:
    """``"5/minute"`` -> ``(5, 60)``; a clear ``ValueError`` otherwise."""
    count, _, period = text.strip().partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip() not in _PERIODS:
        raise ValueError(f"rate {text!r} is not N/second, N/minute or N/hour with N >= 1")
    return int(count), _PERIODS[period.strip()]


class Settings(
    ServiceSettings, KafkaSettings, RedisSettings, LicenseClientSettings, AuditReceiptSettings
):
    port: int = Field(8000, alias="MESHQ_GATEWAY_PORT")
    api_key: SecretStr | None = Field(
        None, alias="API_KEY", description="The admin API key, sent as X-API-Key."
    )
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
    audit_url: str | None = Field(
        None,
        alias="MESHQ_AUDIT_URL",
        description="The audit service: GET /audit/verify and /audit/export are passed to it; "
        "unset, they answer 409.",
    )
    soar_dispatcher_url: str | None = Field(
        None,
        alias="MESHQ_SOAR_DISPATCHER_URL",
        description="The SOAR dispatcher: POST /soar/replay is passed to it; unset, it "
        "answers 409.",
    )
    alerts_url: str | None = Field(
        None,
        alias="MESHQ_ALERTS_URL",
        description="The alerts service: its queries (meshq_alerts_*) join the catalogue and "
        "are passed to it; unset, they are not listed.",
    )
    prober_url: str | None = Field(
        None,
        alias="MESHQ_PROBER_URL",
        description="The prober: its queries (meshq_synthetic_*) join the catalogue and are "
        "passed to it; unset, they are not listed.",
    )
    operations_timeout: float = Field(
        300.0,
        gt=0,
        le=3600,
        alias="MESHQ_OPERATIONS_TIMEOUT",
        description="Seconds the audit service or the SOAR dispatcher may take to answer "
        "(a verify of a long chain, a replay of many webhooks).",
    )
    supervisor_url: str | None = Field(
        None,
        alias="MESHQ_SUPERVISOR_URL",
        description="Set by meshq serve: its GET /ready (every child it runs) joins this /ready.",
    )
    auth_mode: Literal["api_key", "oidc", "both"] = Field("api_key", alias="AUTH_MODE")
    api_keys_file: Path | None = Field(
        None,
        alias="MESHQ_API_KEYS_FILE",
        description="Named keys (meshq apikey); default $MESHQ_DATA_DIR/api_keys.json.",
    )
    entra_tenant_id: str | None = Field(None, alias="ENTRA_TENANT_ID")
    entra_client_id: str | None = Field(None, alias="ENTRA_CLIENT_ID")
    oidc_issuer: str | None = Field(None, alias="OIDC_ISSUER")
    oidc_audience: str | None = Field(None, alias="OIDC_AUDIENCE")
    oidc_jwks_url: str | None = Field(None, alias="OIDC_JWKS_URL")
    oidc_leeway: float = Field(60.0, ge=0, le=300, alias="OIDC_LEEWAY")
    oidc_client_id: str | None = Field(
        None,
        alias="OIDC_CLIENT_ID",
        description="The web UI's app registration (default ENTRA_CLIENT_ID).",
    )
    oidc_client_secret: SecretStr | None = Field(
        None,
        alias="OIDC_CLIENT_SECRET",
        description="Its secret, when the provider wants one (PKCE is always used).",
    )
    oidc_authorize_url: str | None = Field(
        None, alias="OIDC_AUTHORIZE_URL", description="Default: Entra's, from ENTRA_TENANT_ID."
    )
    oidc_token_url: str | None = Field(
        None, alias="OIDC_TOKEN_URL", description="Default: Entra's, from ENTRA_TENANT_ID."
    )
    oidc_scopes: str = Field("openid profile email", max_length=512, alias="OIDC_SCOPES")
    oidc_redirect_url: str | None = Field(
        None,
        alias="OIDC_REDIRECT_URL",
        description="The web UI's callback as the provider knows it (default: "
        "<the request's base URL>/ui/oidc/callback).",
    )
    oidc_jwks_min_refresh: float = Field(
        60.0, ge=0, alias="OIDC_JWKS_MIN_REFRESH", description="Least seconds between fetches."
    )
    rbac_policy_file: Path | None = Field(None, alias="RBAC_POLICY_FILE")
    rbac_reload_interval: float = Field(
        30.0, gt=0, alias="RBAC_RELOAD_INTERVAL", description="Seconds between file checks."
    )
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        alias="MESHQ_RATE_LIMITS",
        description='JSON object, e.g. {"POST /graph/chaos-simulate": "5/minute"}; '
        "merged over the defaults.",
    )
    redis_timeout: float = Field(
        0.5,
        gt=0,
        le=10,
        alias="MESHQ_REDIS_TIMEOUT",
        description="Seconds one Redis call (connect included) may take before it counts as "
        "failed; the client does not retry it.",
    )
    redis_breaker_failures: int = Field(
        3,
        ge=1,
        le=100,
        alias="MESHQ_REDIS_BREAKER_FAILURES",
        description="Consecutive failed Redis calls that open the circuit breaker.",
    )
    redis_breaker_cooldown: float = Field(
        5.0,
        gt=0,
        le=300,
        alias="MESHQ_REDIS_BREAKER_COOLDOWN",
        description="Seconds the breaker stays open before one call probes Redis again.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        alias="MESHQ_GATEWAY_MAX_BODY_BYTES",
        description="Largest request body accepted; a larger one is refused with 413 before "
        "any handler, authentication or audit sees it.",
    )
    snapshot_max_bytes: int = Field(
        4 * 1024**3,
        ge=1024,
        alias="MESHQ_SNAPSHOT_MAX_BYTES",
        description="Largest body POST /snapshots passes on (bytes as sent, gzip or not); "
        "graph-engine bounds the decompressed JSON by the same variable.",
    )
    audit_buffer_size: int = Field(
        10_000,
        ge=1,
        alias="MESHQ_AUDIT_BUFFER",
        description="Audit events held while the broker is away; full means 503.",
    )
    catalogue_ttl: float = Field(
        60.0, gt=0, alias="MESHQ_CATALOGUE_TTL", description="Seconds the query list is cached."
    )
    query_cache: bool = Field(
        True,
        alias="MESHQ_QUERY_CACHE",
        description="Cache the answers of read-only catalogue queries in Redis, per query, "
        "parameters, page and graph revision, shared by every gateway pod.",
    )
    query_cache_ttl: float = Field(
        60.0,
        ge=1,
        le=3600,
        alias="MESHQ_QUERY_CACHE_TTL",
        description="Seconds a cached answer lives; also the longest a pod that misses the "
        "graph's topology events can serve an answer of an older revision.",
    )
    query_cache_max_bytes: int = Field(
        262_144,
        ge=1024,
        le=16 * 1_048_576,
        alias="MESHQ_QUERY_CACHE_MAX_BYTES",
        description="Largest answer (graph-engine's JSON, one page) kept in the cache; larger "
        "ones are always worked out afresh.",
    )
    query_cache_local_bytes: int = Field(
        16 * 1_048_576,
        ge=0,
        le=1024 * 1_048_576,
        alias="MESHQ_QUERY_CACHE_LOCAL_BYTES",
        description="Bytes of cached answers (their JSON) each pod also keeps in memory, in "
        "front of Redis; 0 keeps none.",
    )
    graph_connections: int = Field(
        100,
        ge=1,
        le=10_000,
        alias="MESHQ_GRAPH_ENGINE_CONNECTIONS",
        description="Kept-alive connections to graph-engine for query calls.",
    )
    ui_link_ttl: float = Field(
        900.0,
        ge=10,
        le=86_400,
        alias="MESHQ_UI_LINK_TTL",
        description="Seconds a one-time sign-in link of the web UI stays usable.",
    )
    ui_session_ttl: float = Field(
        43_200.0,
        ge=60,
        le=7 * 86_400,
        alias="MESHQ_UI_SESSION_TTL",
        description="Seconds a web UI session (its cookie) lasts.",
    )

    @property
    def keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api_keys.json"

    def oidc_config(self) -> tuple[str, list[str], str] | None:
        """(issuer, audiences, jwks_url), or None when OIDC is not configured."""
        issuer = self.oidc_issuer
        audiences = [self.oidc_audience] if self.oidc_audience else []
        jwks = self.oidc_jwks_url
        if self.entra_tenant_id and self.entra_client_id:
            e_issuer, e_aud, e_jwks = entra_endpoints(self.entra_tenant_id, self.entra_client_id)
            issuer, audiences, jwks = issuer or e_issuer, audiences or e_aud, jwks or e_jwks
        if issuer and audiences and jwks:
            return issuer, audiences, jwks
        return None

    def browser_sign_in(self) -> BrowserSignIn | None:
        """The web UI's OIDC sign-in, where ``AUTH_MODE`` takes tokens and the provider's
        endpoints and the app's client id are known (Entra's from its tenant)."""
        if self.auth_mode == "api_key" or self.oidc_config() is None:
            return None
        client_id = self.oidc_client_id or self.entra_client_id
        authorize, token = self.oidc_authorize_url, self.oidc_token_url
        if self.entra_tenant_id:
            base = f"https://login.microsoftonline.com/{self.entra_tenant_id}/oauth2/v2.0"
            authorize, token = authorize or f"{base}/authorize", token or f"{base}/token"
        if not (client_id and authorize and token):
            return None
        return BrowserSignIn(
            client_id,
            authorize,
            token,
            self.oidc_scopes,
            self.oidc_client_secret,
            self.oidc_redirect_url,
        )

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.auth_mode != "api_key" and self.oidc_config() is None:
            raise ValueError(
                f"AUTH_MODE={self.auth_mode} needs ENTRA_TENANT_ID and ENTRA_CLIENT_ID "
                "(or OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL)"
            )
        return self

    @field_validator("rate_limits")
    @classmethod
    def _check_rates(cls, value: dict[str, str]) -> dict[str, str]:
        merged = {**DEFAULT_RATE_LIMITS, **value}
        for route, rate in merged.items():
            method, _, path = route.partition(" ")
            if not method.isupper() or not path.startswith("/"):
                raise ValueError(f"rate limit key {route!r} must be 'METHOD /path'")
            parse_rate(rate)
        return merged
