"""The alerts service: rules over the graph's answers, the alert lifecycle, Alertmanager."""
