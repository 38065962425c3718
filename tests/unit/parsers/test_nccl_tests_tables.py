"""nccl-tests result tables of three generations (public issue threads)."""

from pathlib import Path

import pytest
from network_discovery.parsers.nccl import parse_nccl_tests

TABLES = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "nccl" / "nccl-tests"


def test_newest_layout_with_redop_root_and_wrong_count() -> None:
    facts = parse_nccl_tests(
        (TABLES / "coreweave-43-gb200-nvl72.txt").read_text(),
        job_id="nvl72",
        test="all_reduce_perf",
    )
    assert facts.issues == []
    assert len(facts.results) == 10
    first = facts.results[0]
    assert (first.size_bytes, first.count, first.dtype, first.redop, first.root) == (
        536870912,
        134217728,
        "float",
        "sum",
        -1,
    )
    assert (first.placement, first.time_us, first.algbw_gbps, first.busbw_gbps) == (
        "out-of-place",
        1806.7,
        297.16,
        586.06,
    )
    in_place = facts.results[-1]
    assert (in_place.placement, in_place.time_us, in_place.busbw_gbps) == (
        "in-place",
        20006,
        846.82,
    )
    assert facts.avg_busbw_gbps == [745.53]
    assert facts.ranks[0].host == "slurm-gb200-207-171"
    assert facts.ranks[0].rank == 71


def test_oldest_layout_without_redop() -> None:
    facts = parse_nccl_tests((TABLES / "nccl-340-all-reduce-2.6.txt").read_text(), job_id="j")
    assert facts.issues == []
    assert len(facts.results) == 24
    assert {r.redop for r in facts.results} == {None}
    last = facts.results[-1]
    assert (last.size_bytes, last.busbw_gbps, last.errors) == (134217728, 21.86, 0.0)
    assert facts.avg_busbw_gbps == [6.6972]


def test_program_line_names_the_following_rows() -> None:
    text = (TABLES / "nccl-340-all-reduce-2.6.txt").read_text()
    text += "  8  2  float  0  10.00  0.00  0.00  0e+00  9.00  0.00  0.00  0e+00\n"
    facts = parse_nccl_tests(text, job_id="j")
    assert facts.results[0].test is None
    assert (facts.results[-1].test, facts.results[-1].root) == ("broadcast_perf", 0)


def test_header_only_and_rank_lines() -> None:
    facts = parse_nccl_tests((TABLES / "nccl-tests-107-header.txt").read_text(), job_id="j")
    assert facts.results == []
    assert [(r.rank, r.host, r.gpu_name) for r in facts.ranks] == [
        (0, "ip-172-31-20-228", "Tesla V100-SXM2-16GB"),
        (0, "ip-172-31-22-230", "Tesla V100-SXM2-16GB"),
    ]


def test_rank_lines_with_groups() -> None:
    facts = parse_nccl_tests((TABLES / "soperator-428-h100-ranks.txt").read_text(), job_id="j")
    assert len(facts.ranks) == 12
    assert (facts.ranks[8].host, facts.ranks[8].cuda_dev, facts.ranks[8].pci_bus) == (
        "worker-0",
        0,
        0x8D,
    )


def test_na_values_stay_unknown_and_odd_rows_are_reported() -> None:
    text = (
        "#       size         count      type   redop    root     time   algbw   busbw #wrong"
        "     time   algbw   busbw #wrong\n"
        "        1024           256     float     sum      -1    10.0    0.10    0.19    N/A"
        "    10.0    0.10    0.19    N/A\n"
        "        2048           512     float     sum\n"
    )
    facts = parse_nccl_tests(text, job_id="j")
    assert [r.errors for r in facts.results] == [None, None]
    assert [i.line for i in facts.issues] == [3]


@pytest.mark.parametrize("bad", ["-5", "x"])
def test_impossible_numbers_are_reported(bad: str) -> None:
    text = f"  1024  256  float  sum  -1  {bad}  0.1  0.1  0  10.0  0.1  0.1  0\n"
    facts = parse_nccl_tests(text, job_id="j")
    assert facts.issues and facts.issues[0].line == 1
