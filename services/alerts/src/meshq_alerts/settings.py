"""Alerts service settings."""

from pathlib import Path

from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    PostgresSettings,
    ServiceSettings,
)
from pydantic import Field

from meshq_alerts.rules import AlertRule, load_rules, load_rules_file

__all__ = ["Settings"]

#: The rules in force when no file is configured.
DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, LicenseClientSettings):
    port: int = Field(8008, alias="MESHQ_ALERTS_PORT")
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
    rules_file: Path | None = Field(
        None,
        alias="MESHQ_ALERT_RULES_FILE",
        description="YAML alert rules; the built-in rules when unset.",
    )
    interval_s: float = Field(
        60.0,
        ge=1.0,
        le=86_400.0,
        alias="MESHQ_ALERTS_INTERVAL",
        description="Seconds between evaluations of every rule (also after each topology change).",
    )
    debounce_s: float = Field(
        2.0,
        ge=0.0,
        le=600.0,
        alias="MESHQ_ALERTS_DEBOUNCE",
        description="Seconds a topology change waits for more before the rules run.",
    )
    max_rows: int = Field(
        200_000,
        ge=1,
        le=5_000_000,
        alias="MESHQ_ALERTS_MAX_ROWS",
        description="Rows read per rule per evaluation; a longer answer resolves nothing.",
    )
    alertmanager_urls: str = Field(
        "",
        alias="MESHQ_ALERTMANAGER_URLS",
        description="Comma-separated Alertmanager base URLs to push alerts to.",
    )
    public_url: str | None = Field(
        None,
        alias="MESHQ_ALERTS_PUBLIC_URL",
        description="The gateway's URL, for the link each pushed alert carries.",
    )

    def load_rules(self) -> list[AlertRule]:
        if self.rules_file is not None:
            return load_rules_file(self.rules_file)
        return load_rules(DEFAULT_RULES.read_text(), origin="built-in alert rules")
