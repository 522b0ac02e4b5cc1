"""Every rule's own VALID and INVALID examples, at the exact lines."""

from __future__ import annotations

import pytest

from perflint.registry import all_rule_classes
from tests.conftest import lint_source

CASES = []
for rule in all_rule_classes():
    for index, example in enumerate(rule.VALID):
        CASES.append(pytest.param(rule, example, None, id=f"{rule.code}-valid-{index}"))
    for index, example in enumerate(rule.INVALID):
        CASES.append(pytest.param(rule, example, example.lines, id=f"{rule.code}-invalid-{index}"))


@pytest.mark.parametrize(("rule", "example", "lines"), CASES)
def test_rule_example(rule, example, lines):
    findings = lint_source(example.code, example.filename, codes={rule.code}, schema=example.schema)
    reported = sorted(f.line for f in findings if f.code == rule.code)
    if lines is None:
        assert reported == [], f"{rule.code} must not fire on:\n{example.code}\n{findings}"
    else:
        assert reported == sorted(lines), f"{rule.code} on:\n{example.code}\n{findings}"


def test_every_rule_has_examples_and_docs():
    for rule in all_rule_classes():
        doc = rule.documentation()
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert section in doc, f"{rule.code} docs lack {section!r}"
        assert rule.VALID and rule.INVALID, f"{rule.code} needs valid and invalid examples"
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert rule.severity in ("error", "warning", "info")
