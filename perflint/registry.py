"""Finding rules by code: the catalog is read without importing any rule module."""

from __future__ import annotations

import importlib
from functools import cache

from perflint.rulebase import Rule
from perflint.rules import CATALOG


def all_codes() -> list[str]:
    return sorted(CATALOG)


@cache
def rule_class(code: str) -> type[Rule]:
    module_name, _, class_name = CATALOG[code].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if cls.code != code:
        raise RuntimeError(f"catalog says {code} is {CATALOG[code]}, which declares {cls.code}")
    return cls


def all_rule_classes() -> list[type[Rule]]:
    return [rule_class(code) for code in all_codes()]


def expand_codes(selectors: list[str] | tuple[str, ...]) -> set[str]:
    """``PFL2`` -> every PFL2xx code; ``ALL`` -> every code. Unknown selectors raise ValueError."""
    codes: set[str] = set()
    for selector in selectors:
        selector = selector.strip().upper()
        if not selector:
            continue
        if selector == "ALL":
            codes.update(CATALOG)
            continue
        matched = {code for code in CATALOG if code.startswith(selector)}
        if not matched:
            raise ValueError(f"unknown rule code or prefix {selector!r} (see `perflint rules`)")
        codes |= matched
    return codes
