"""Feature gates: ``check_feature(plan, feature)`` or :class:`FeatureNotAvailableError`.

``MESHOPTIXIQ_DEMO_MODE`` set to ``true``, ``1`` or ``yes`` (any case) opens every feature gate;
the device limits stay as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from network_discovery.licensing.plans import FEATURE_FLAGS, features_for, plans_with

__all__ = ["DEMO_ENV", "FeatureNotAvailableError", "check_feature", "demo_mode", "parse_demo_mode"]

DEMO_ENV = "MESHOPTIXIQ_DEMO_MODE"
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def parse_demo_mode(value: object) -> bool:
    """The one reading of MESHOPTIXIQ_DEMO_MODE, for every service and client: ``true``,
    ``1``, ``yes`` turn it on and ``false``, ``0``, ``no`` or unset leave it off (any case,
    spaces around ignored); anything else is an error that says so, never a guess."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    shown = str(value)[:40]
    raise ValueError(
        f"{DEMO_ENV}={shown!r} is not understood: use true, 1 or yes to turn demo mode on; "
        "false, 0, no or unset to leave it off"
    )


class FeatureNotAvailableError(Exception):
    """The current plan does not include a feature."""

    def __init__(self, feature: str, plan: str) -> None:
        self.feature, self.plan = feature, plan
        try:
            having = ", ".join(plans_with(feature)) or "no plan"
        except KeyError:
            having = "no plan (unknown feature)"
        super().__init__(
            f"feature {feature!r} is not available on the {plan} plan; it is included in: {having}"
        )


def demo_mode(environ: Mapping[str, str] | None = None) -> bool:
    """True when the environment turns demo mode on (read on every call, never cached)."""
    value = (environ if environ is not None else os.environ).get(DEMO_ENV, "")
    try:
        return parse_demo_mode(value)
    except ValueError:
        return False  # not on; the services refuse such a value at start, saying why


def check_feature(
    plan: str,
    feature: str,
    *,
    features: Mapping[str, bool | int] | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """True when ``plan`` (or the given ``features`` dict) includes ``feature``; else raise.

    Pass ``features`` (a signed answer's flags) to gate on what the server granted rather than
    on the built-in table. An unknown feature is never available (outside demo mode).
    """
    if demo_mode(environ):
        return True
    if feature not in FEATURE_FLAGS:
        raise FeatureNotAvailableError(feature, plan)
    flags = features if features is not None else features_for(plan)
    if flags.get(feature) is True:
        return True
    raise FeatureNotAvailableError(feature, plan)
