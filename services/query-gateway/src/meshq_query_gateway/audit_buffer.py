"""The audit buffer moved to ``meshq_runtime.audit_buffer`` (the graph engine audits its
internal writes through one too); this name stays for the gateway's imports."""

from meshq_runtime.audit_buffer import AuditBuffer

__all__ = ["AuditBuffer"]
