"""The gateway's web UI: its pages, the documentation pages under ``/schema``, and sign-in."""
