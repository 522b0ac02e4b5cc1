"""PFL902 sql-unparsed."""

from __future__ import annotations

from perflint.rulebase import Invalid, Rule, Valid


class SqlUnparsed(Rule):
    """
    ## What it does
    Reports SQL handed to a query sink (or a statement in a .sql file) that looked
    like SQL but did not parse, so no SQL rule could check it. Off by default:
    enable it with `--extend-select PFL902`.

    ## Why is this bad?
    Unparsed SQL is unknown, not clean. Often the dialect is wrong (set
    `dialect` in `[tool.perflint]`) or the text is assembled in a way perflint
    cannot follow.

    ## Example
    ```python
    cur.execute("SELECT FROM WHERE")
    ```

    ## Use instead
    Set the right dialect, or keep the SQL in a literal or module constant.
    """

    code = "PFL902"
    name = "sql-unparsed"
    summary = "executed text looked like SQL but did not parse"
    message = "SQL did not parse"
    severity = "info"
    confidence = "low"
    default_enabled = False
    base_cost = 0.5

    VALID = (Valid("cur.execute('SELECT id FROM t WHERE id = %s', (1,))\n"),)
    INVALID = (Invalid("cur.execute('SELECT FROM WHERE (')\n", (1,)),)
