"""The prober service: synthetic probes, their results in PostgreSQL, the Synthetic queries."""
