"""Finding.to_json: the same document dataclasses.asdict gives, without aliasing."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from perflint.findings import Finding, TraceStep


def _findings() -> list[Finding]:
    full = Finding("PFL201", "n-plus-one", "m", "warning", "high", "a.py", 1, 2, 3, 4, 1.23456,
                   [TraceStep("b.py", 7, "f"), TraceStep("c.py", 9, "g")], "hint", ["x2"], "mod.f", 2,
                   3.0, {"table": "t", "columns": ["a", {"b": 1}]}, "SELECT 1")
    return [full, Finding("PFL101", "select-star", "m", "info", "low", "a.sql", 1, 1, 1, 9)]


@pytest.mark.parametrize("finding", _findings(), ids=["every field", "defaults"])
def test_to_json_is_asdict_with_a_rounded_score(finding: Finding) -> None:
    expected = asdict(finding)
    expected["score"] = round(finding.score, 3)
    data = finding.to_json()
    assert data == expected
    assert list(data) == list(expected)  # same key order in the JSON output
    assert Finding.from_json(data) == Finding.from_json(expected)


def test_to_json_shares_no_mutable_value() -> None:
    finding = _findings()[0]
    data = finding.to_json()
    data["trace"][0]["line"] = 0
    data["reasons"].append("changed")
    data["schema_check"]["columns"][1]["b"] = 0
    assert finding.trace[0].line == 7 and finding.reasons == ["x2"]
    assert finding.schema_check == {"table": "t", "columns": ["a", {"b": 1}]}
