"""The hot-path score: rule base cost x loop multiplier x reachability weight."""

from __future__ import annotations

import math

from perflint.findings import Finding
from perflint.graph import Heat
from perflint.measured import Measured
from perflint.summary import module_name_for

# Code no handler, task or CLI entry point reaches (scripts run by hand, dead code,
# library internals the project does not call): ranked below everything reached.
COLD_WEIGHT = 0.5
ENTRY_LABELS = {"handler": "request handler", "task": "background task", "signal": "signal receiver",
                "cli": "CLI command"}


def score_findings(findings: list[Finding], heat: dict[str, Heat], measured: Measured | None = None) -> None:
    for finding in findings:
        base = finding.base_cost
        reasons = [f"base cost {base:g} ({finding.name})"]
        node = f"{module_name_for(finding.path)}.{finding.function}" if finding.function else ""
        function_heat = heat.get(node, Heat())
        depth = finding.loop_depth + function_heat.carried_loop_depth
        loop_multiplier = 1.0 + depth
        if depth:
            reasons.append(f"inside {depth} loop level(s) x{loop_multiplier:g}")
        weight = function_heat.entry_weight
        if function_heat.entry:
            label = ENTRY_LABELS.get(function_heat.entry_kind, function_heat.entry_kind)
            weight *= 1.0 + 0.25 * math.log2(function_heat.paths)
            reasons.append(f"reached from {label} {function_heat.entry} x{weight:.2f}"
                           + (f" ({function_heat.paths} entry points)" if function_heat.paths > 1 else ""))
        else:
            weight = COLD_WEIGHT
            reasons.append(f"no entry point reaches it (cold code) x{COLD_WEIGHT:g}")
        if measured:
            multiplier, reason = measured.weight(finding)
            if reason:
                weight *= multiplier
                reasons.append(reason)
        finding.score = round(base * loop_multiplier * weight, 3)
        finding.reasons = reasons
