"""The XIDs the health verdict knows: what each means and how bad it is."""

from __future__ import annotations

from typing import Literal

__all__ = ["XID_TABLE", "XidSeverity"]

XidSeverity = Literal["degraded", "failed"]

#: The XIDs the product knows: (meaning, severity). Meanings follow NVIDIA's XID catalogue;
#: an XID outside this table makes the verdict ``unknown`` unless something else decides.
XID_TABLE: dict[int, tuple[str, XidSeverity]] = {
    13: ("Graphics engine exception (usually an application fault)", "degraded"),
    31: ("GPU memory page fault (usually an application fault)", "degraded"),
    43: ("GPU stopped processing (application fault)", "degraded"),
    45: ("Preemptive cleanup, due to previous errors", "degraded"),
    48: ("Double-bit ECC error", "failed"),
    61: ("Internal micro-controller breakpoint/warning", "degraded"),
    62: ("Internal micro-controller halt", "failed"),
    63: ("ECC page retirement or row remapping recorded", "degraded"),
    64: ("ECC page retirement or row remapping recording failure", "failed"),
    68: ("Video processor exception", "degraded"),
    74: ("NVLink error", "failed"),
    79: ("GPU has fallen off the bus", "failed"),
    92: ("High single-bit ECC error rate", "degraded"),
    94: ("Contained ECC error (the affected application must restart)", "degraded"),
    95: ("Uncontained ECC error (GPU reset required)", "failed"),
    109: ("Context switch timeout", "degraded"),
    119: ("GSP RPC timeout", "failed"),
    120: ("GSP error", "failed"),
    121: ("C2C link corrected error", "degraded"),
    140: ("Unrecovered ECC error", "failed"),
    154: ("GPU recovery action changed (drain, reset or reboot required)", "degraded"),
}
