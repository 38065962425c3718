"""What meshq ingest accepts, and the one-line errors for what it does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from network_discovery.demo import snapshot_text
from network_discovery.ingest import IngestInputError, load_path
from support.kafka_publish import split_snapshot

LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"


def test_native_json_and_yaml(tmp_path: Path) -> None:
    import json

    import yaml

    (tmp_path / "s.json").write_text(snapshot_text())
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(json.loads(snapshot_text())))
    a, _ = load_path(tmp_path / "s.json")
    b, _ = load_path(tmp_path / "s.yaml")
    assert a == b and len(a.scope) >= 30


def test_a_directory_of_device_output_with_one_broken_file(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    shutil.copytree(LAB1, lab)
    (lab / "lab-acc1" / "show_version.txt").write_text("this is not what a switch prints\n")
    snapshot, problems = load_path(lab)
    assert any("lab-acc1" in p and "show_version" in p for p in problems)
    scope = snapshot.scope_map()
    # the folder names its platform: still a collected device, without what show version told
    acc1 = next(d for d in snapshot.devices if d.id == "lab-acc1")
    assert acc1.managed and acc1.platform == "cisco_ios" and acc1.os_version is None
    assert "device" in {k.value for k in scope["lab-acc1"]}
    assert len(scope) == 5  # the rest went on


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("{not json", "s.json", "is not valid JSON"),
        ("a: [b", "s.yaml", "is not valid YAML"),
        ('{"snapshot_id": "x"}', "s.json", "not a valid snapshot"),
    ],
)
def test_bad_files_get_one_clear_line(
    tmp_path: Path, content: str, name: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(IngestInputError, match=message) as info:
        load_path(tmp_path / name)
    assert "\n" not in str(info.value)


def test_missing_and_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(IngestInputError, match="does not exist"):
        load_path(tmp_path / "nope")
    with pytest.raises(IngestInputError, match="nothing could be parsed"):
        load_path(tmp_path)


def test_large_snapshots_are_chunked_and_reassemble(tmp_path: Path) -> None:
    import base64
    import hashlib

    snapshot, _ = load_path(_write(tmp_path))
    messages = split_snapshot(snapshot, correlation_id="c", source="t", max_message_bytes=100_000)
    assert len(messages) > 3
    assert all(len(m.model_dump_json()) <= 100_000 for m in messages)
    whole = b"".join(base64.b64decode(m.data.content) for m in messages)
    assert hashlib.sha256(whole).hexdigest() == messages[0].data.sha256
    assert {m.key() for m in messages} == {snapshot.source.encode()}


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    return path


def test_a_hostile_host_name_is_refused_naming_the_file(tmp_path: Path) -> None:
    hostile = 'sw-inj ansible_ssh_common_args="-o ProxyCommand=touch /tmp/x"'
    doc = json.loads(snapshot_text())
    doc["devices"][0]["hostname"] = hostile
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(IngestInputError, match=r"s\.json: not a valid snapshot.*only letters"):
        load_path(path)


def test_a_device_folder_whose_name_is_no_host_name_is_left_out(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    shutil.copytree(LAB1, lab)
    (lab / "lab-acc1").rename(lab / "sw1;reboot")
    snapshot, problems = load_path(lab)
    assert "sw1;reboot" not in {d.id for d in snapshot.devices}
    assert any("sw1;reboot" in p and "only letters, digits" in p for p in problems)
