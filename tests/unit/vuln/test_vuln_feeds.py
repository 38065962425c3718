"""The three feed formats read from real published records (tests/fixtures/vuln/README.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from network_discovery.vuln.csaf import range_of
from network_discovery.vuln.load import FileError, read_document, read_path
from network_discovery.vuln.model import Advisory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"


def _one(path: str) -> Advisory:
    records = read_path(FIXTURES / path).records
    assert len(records) == 1
    return records[0]


def test_cisco_csaf_smart_install() -> None:
    record = _one("csaf/cisco-sa-20180328-smi2.json")
    assert record.key == "csaf:cisco-sa-20180328-smi2:CVE-2018-0171"
    assert (record.source, record.advisory_id, record.cve) == (
        "csaf",
        "cisco-sa-20180328-smi2",
        "CVE-2018-0171",
    )
    assert record.vendor == "Cisco PSIRT"  # document.publisher.name
    assert (record.cvss_score, record.severity, record.cvss_version) == (9.8, "critical", "3.0")
    assert record.cvss_vector == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert record.exploited is None  # the document has no exploit_status threat
    assert (record.feature, record.condition) == ("smart_install", "Smart Install")
    assert record.remediation is not None and record.remediation.startswith("workaround:")
    families = {a.family: a for a in record.affected}
    assert set(families) == {"ios", "ios_xe"}
    # the product tree's service_pack leaves under each train, counted by hand
    assert len(families["ios"].versions) == 180
    assert len(families["ios_xe"].versions) == 79
    assert "15.2(4)E5a" in families["ios"].versions
    assert "16.4.1" in families["ios_xe"].versions
    assert "3.6.7bE" in families["ios_xe"].versions
    assert "15.2(7)E8" not in families["ios"].versions


def test_cisco_cve5_web_ui_known_exploited() -> None:
    record = _one("cve5/CVE-2023-20198.json")
    assert (record.key, record.source, record.advisory_id) == (
        "cve5:CVE-2023-20198",
        "cve5",
        "CVE-2023-20198",
    )
    assert (record.cvss_score, record.severity) == (10.0, "critical")
    assert record.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert record.exploited is True  # the CISA ADP's KEV entry
    assert record.feature == "http_server"  # "the web UI feature"
    (affected,) = record.affected
    assert affected.family == "ios_xe" and len(affected.versions) == 186
    assert "16.4.1" in affected.versions and "17.9.4" in affected.versions


def test_juniper_cve5_ranges() -> None:
    record = _one("cve5/CVE-2023-36844.json")
    assert record.exploited is False  # "Juniper SIRT is not aware of any malicious exploitation"
    assert (record.cvss_score, record.severity) == (5.3, "medium")
    assert (record.feature, record.condition) == ("http_server", "J-Web")
    assert record.url == "https://supportportal.juniper.net/JSA72300"
    (affected,) = record.affected
    assert affected.family == "junos" and affected.platforms == ("EX Series",)
    ranges = {(r.start, r.end): r for r in affected.ranges}
    assert ranges[(None, "20.4R3-S9")].line is None
    assert ranges[("21.1", None)].line == "21.1"  # lessThan "21.1*": the whole 21.1 line
    assert ranges[("22.4", "22.4R3")].fixes == ("22.4R2-S2",)  # "22.4R2-S2, 22.4R3"
    assert ranges[("23.2", "23.2R2")].fixes == ("23.2R1-S1",)
    assert "21.4R3-S5" in affected.fixed


def test_arista_nvd_cpe_ranges() -> None:
    record = _one("nvd/CVE-2023-24509.json")
    assert (record.key, record.source) == ("nvd:CVE-2023-24509", "nvd")
    # NVD's own (Primary) v3.1 metric, not the CNA's secondary 9.3
    assert (record.cvss_score, record.severity) == (7.8, "high")
    assert record.exploited is None
    assert (record.feature, record.condition) == ("other", "redundancy protocol")
    (affected,) = record.affected
    assert affected.family == "eos"  # the hardware half of the AND is not a family
    first = affected.ranges[0]
    assert (first.start, first.end, first.end_inclusive) == ("4.23", "4.23.13m", True)
    assert affected.ranges[-1].end == "4.28.4m" and not affected.ranges[-1].end_inclusive
    assert affected.fixed == ("4.24.11m", "4.25.10m", "4.26.9m", "4.27.7m", "4.28.4m")


def test_a_directory_and_gzip(tmp_path: Path) -> None:
    data = (FIXTURES / "nvd" / "CVE-2023-24509.json").read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "CVE-2023-24509.json.gz").write_bytes(gzip.compress(data))
    (tmp_path / "notes.txt").write_text("not an advisory")
    (tmp_path / "bad.json").write_text("{not json")
    report = read_path(tmp_path)
    assert report.files == 2
    assert [r.key for r in report.records] == ["nvd:CVE-2023-24509"]
    assert len(report.errors) == 1 and "bad.json: not JSON" in report.errors[0]


def test_nvd_api_page_keeps_only_known_families() -> None:
    nvd = json.loads((FIXTURES / "nvd" / "CVE-2023-24509.json").read_text())
    other = {
        "id": "CVE-2023-0001",
        "metrics": {},
        "configurations": [
            {
                "nodes": [
                    {
                        "cpeMatch": [
                            {"vulnerable": True, "criteria": "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*"}
                        ]
                    }
                ]
            }
        ],
    }
    page = {
        "format": "NVD_CVE",
        "version": "2.0",
        "vulnerabilities": [{"cve": nvd}, {"cve": other}],
    }
    assert [r.cve for r in read_document(page)] == ["CVE-2023-24509"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "not CSAF 2.0, NVD CVE API 2.0 or CVE JSON 5"),
        ('{"document": {"csaf_version": "2.0"}}', "without document.tracking.id"),
        ('{"dataType": "CVE_RECORD", "containers": {}}', "without cveMetadata.cveId"),
        ("\xff", "not JSON"),
    ],
    ids=["unknown-format", "csaf-without-id", "cve5-without-id", "not-utf8"],
)
def test_a_bad_file_is_named(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "advisory.json"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(FileError, match=message) as caught:
        read_path(path)
    assert str(path) in str(caught.value)


def test_rejected_cve_is_no_record() -> None:
    doc = {
        "dataType": "CVE_RECORD",
        "cveMetadata": {"cveId": "CVE-2020-1", "state": "REJECTED"},
        "containers": {},
    }
    assert read_document(doc) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vers:generic/>=21.4|<21.4R3-S5", ("21.4", True, "21.4R3-S5", False)),
        ("<4.28.3M", (None, True, "4.28.3M", False)),
        (">= 4.28.0F <= 4.28.2F", ("4.28.0F", True, "4.28.2F", True)),
        ("=17.9.4", ("17.9.4", True, "17.9.4", True)),
        ("all versions", None),
    ],
    ids=["vers", "less-than", "both-inclusive", "equal", "prose"],
)
def test_csaf_version_ranges(text: str, expected: tuple[object, ...] | None) -> None:
    found = range_of(text)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.start, found.start_inclusive, found.end, found.end_inclusive) == expected


def test_csaf_range_leaf_and_relationship() -> None:
    """A vendor that writes a product_version_range leaf, and a relationship that installs a
    listed version on a platform (the shapes CSAF 2.0 section 3.1.3 and 3.2.2 define)."""
    doc = {
        "document": {
            "csaf_version": "2.0",
            "title": "Junos OS: J-Web issue",
            "tracking": {"id": "JSA-TEST-1"},
            "publisher": {"name": "Juniper Networks"},
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Juniper Networks",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "Junos OS",
                            "branches": [
                                {
                                    "category": "product_version_range",
                                    "name": "vers:generic/>=21.4|<21.4R3-S5",
                                    "product": {"name": "Junos OS 21.4", "product_id": "P1"},
                                },
                                {
                                    "category": "product_version",
                                    "name": "22.4R2-S1",
                                    "product": {"name": "Junos OS 22.4R2-S1", "product_id": "P2"},
                                },
                            ],
                        }
                    ],
                }
            ],
            "relationships": [
                {
                    "category": "installed_on",
                    "product_reference": "P2",
                    "relates_to_product_reference": "EX",
                    "full_product_name": {"name": "22.4R2-S1 on EX", "product_id": "P2-EX"},
                }
            ],
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2099-0001",
                "product_status": {"known_affected": ["P1", "P2-EX"]},
                "threats": [{"category": "exploit_status", "details": "Exploitation observed"}],
            }
        ],
    }
    (record,) = read_document(doc)
    (affected,) = record.affected
    assert affected.family == "junos"
    assert affected.versions == ("22.4R2-S1",)
    assert [(r.start, r.end) for r in affected.ranges] == [("21.4", "21.4R3-S5")]
    assert record.exploited is True and record.feature == "http_server"
