"""Vulnerabilities: advisories read from CSAF 2.0, NVD CVE API 2.0 and CVE JSON 5, kept in the
advisory store, and matched to devices by each vendor's version semantics and the devices'
configuration facts."""
