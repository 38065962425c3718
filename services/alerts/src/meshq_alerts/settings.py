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
#: Queries the prober serves: built-in rules over them need MESHQ_PROBER_URL.
PROBER_QUERIES = "meshq_synthetic_"


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, LicenseClientSettings):
    port: int = Field(8008, alias="MESHQ_ALERTS_PORT")
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
    prober_url: str | None = Field(
        None,
        alias="MESHQ_PROBER_URL",
        description="The prober: rules over the Synthetic queries (meshq_synthetic_*) ask it.",
    )
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

    blast_full_interval_s: float = Field(
        3600.0,
        ge=60.0,
        le=7 * 86_400.0,
        alias="MESHQ_ALERTS_BLAST_FULL_INTERVAL",
        description="Seconds between rounds that ask the blast radius of every device (between "
        "them, only devices near a change are asked again).",
    )
    blast_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        alias="MESHQ_ALERTS_BLAST_CONCURRENCY",
        description="Blast radius questions in flight at once to graph-engine.",
    )

    def load_rules(self) -> list[AlertRule]:
        if self.rules_file is not None:
            return load_rules_file(self.rules_file)
        rules = load_rules(DEFAULT_RULES.read_text(), origin="built-in alert rules")
        if not self.prober_url:  # no prober to ask: its built-in rules would only fail
            rules = [r for r in rules if not r.query.startswith(PROBER_QUERIES)]
        return rules
