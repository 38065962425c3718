"""SOAR dispatcher settings."""

from pathlib import Path
from typing import Literal

from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    PostgresSettings,
    ServiceSettings,
)
from pydantic import Field, SecretStr

from meshq_soar_dispatcher.rules import Rule, RuleError, load_rules

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, LicenseClientSettings):
    port: int = Field(8004, alias="MESHQ_SOAR_DISPATCHER_PORT")
    webhook_url: str | None = Field(None, alias="SOAR_WEBHOOK_URL")
    webhook_token: SecretStr | None = Field(None, alias="SOAR_WEBHOOK_TOKEN")
    signing_key: SecretStr | None = Field(
        None,
        alias="SOAR_WEBHOOK_SIGNING_KEY",
        description="HMAC-SHA256 key of the signature header; the bearer token when unset.",
    )
    rules: str = Field("[]", alias="SOAR_RULES", description="JSON list of SOAR rules.")
    rules_file: Path | None = Field(
        None, alias="SOAR_RULES_FILE", description="A file holding the JSON list of rules."
    )
    max_attempts: int = Field(6, ge=1, le=50, alias="SOAR_MAX_ATTEMPTS")
    retry_base_s: float = Field(0.5, gt=0, alias="SOAR_RETRY_BASE_S")
    retry_max_s: float = Field(30.0, gt=0, alias="SOAR_RETRY_MAX_S")
    request_timeout_s: float = Field(10.0, gt=0, alias="SOAR_REQUEST_TIMEOUT_S")
    alerts_min_severity: Literal["info", "low", "warning", "medium", "high", "critical"] | None = (
        Field(
            None,
            alias="SOAR_ALERTS_MIN_SEVERITY",
            description="Send alerts that fire with at least this severity to the webhook, with "
            "their blast radius; unset, alerts are not sent.",
        )
    )
    graph_engine_url: str | None = Field(
        None,
        alias="MESHQ_GRAPH_ENGINE_URL",
        description="graph-engine, asked for the blast radius of an alert's devices.",
    )

    def load_rules(self) -> list[Rule]:
        """Every rule of ``SOAR_RULES`` then ``SOAR_RULES_FILE``; :class:`RuleError` if bad."""
        rules = load_rules(self.rules, origin="SOAR_RULES")
        if self.rules_file is not None:
            try:
                text = self.rules_file.read_text()
            except OSError as exc:
                raise RuleError(f"SOAR_RULES_FILE {self.rules_file}: {exc.strerror}") from None
            rules += load_rules(text, origin=f"SOAR_RULES_FILE {self.rules_file}")
        labels = [r.label for r in rules]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise RuleError(f"SOAR rules: duplicate rule label(s) {', '.join(dupes)}")
        return rules
