"""Measured weights for ranking: what the user's own profiles say is hot.

``--profile FILE`` (cProfile/pstats, py-spy speedscope JSON, collapsed stacks; see
perflint.profiles) raises a finding by the share of time its function takes;
``--pg-stat-statements FILE`` (a CSV export; see perflint.pgstat) raises a SQL finding
by the share of database time its query takes. A share adds to the weight rather than
multiplying by it (1 + 4 x share): a profile that never saw a function says nothing
about it, and shares include callees, so entry points sit near 100%.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from perflint.findings import Finding

# A function taking all the time is ranked 5x; one taking a quarter of it 2x.
SHARE_FACTOR = 4.0


@dataclass
class Measured:
    profiles: list = field(default_factory=list)  # perflint.profiles.FunctionHeat
    queries: list = field(default_factory=list)  # perflint.pgstat.QueryHeat
    key: str = ""  # digest of the files read: cached rankings are only reused for the same ones

    @classmethod
    def load(cls, profiles: tuple[Path, ...], pg_stat_statements: tuple[Path, ...]) -> Measured:
        """Raises perflint.profiles.ProfileError with a one-line message on bad input."""
        digest = hashlib.sha256()
        for path in (*profiles, *pg_stat_statements):
            try:
                digest.update(Path(path).read_bytes())
            except OSError:
                pass  # the loader below says what is wrong with it
        measured = cls(key=digest.hexdigest()[:16])
        if profiles:
            from perflint.profiles import load_profile

            measured.profiles = [load_profile(path) for path in profiles]
        if pg_stat_statements:
            from perflint.pgstat import load_pg_stat_statements

            measured.queries = [load_pg_stat_statements(path) for path in pg_stat_statements]
        return measured

    def __bool__(self) -> bool:
        return bool(self.profiles or self.queries)

    def weight(self, finding: Finding) -> tuple[float, str]:
        """(multiplier, reason) for ``finding``; (1.0, "") when no measurement covers it."""
        best, reason = 0.0, ""
        if finding.function or finding.path.endswith(".py"):
            for profile in self.profiles:
                share = profile.share_of(finding.path, finding.function)
                if share > best:
                    best = share
                    where = f"`{finding.function}`" if finding.function else "module code"
                    reason = f"profile {Path(profile.source).name}: {where} takes {share:.0%} of the time"
        if finding.sql:
            for heat in self.queries:
                match = heat.match(finding.sql)
                if match is not None and match.share > best:
                    best = match.share
                    reason = (f"pg_stat_statements {Path(heat.source).name}: the query takes "
                              f"{match.share:.0%} of database time ({match.calls} calls)")
        if best <= 0.0:
            return 1.0, ""
        multiplier = 1.0 + SHARE_FACTOR * best
        return multiplier, f"{reason} x{multiplier:.2f}"
