"""PFL901 parse-error."""

from __future__ import annotations

from perflint.rulebase import Invalid, Rule, Valid


class ParseError(Rule):
    """
    ## What it does
    Reports a file perflint could not parse (a syntax error, an undecodable
    encoding, nesting too deep for the parser). The rest of the run goes on.

    ## Why is this bad?
    Nothing in the file was checked. Usually the file is Python 2, a template, or
    broken; exclude it in `[tool.perflint] exclude` if it is not meant to be Python.

    ## Example
    ```python
    print "hello"
    ```

    ## Use instead
    Fix the syntax, or exclude the file.
    """

    code = "PFL901"
    name = "parse-error"
    summary = "a file could not be parsed; the run goes on"
    message = "cannot parse file"
    severity = "error"
    base_cost = 1.0
    fix_hint = "Fix the syntax or exclude the file."

    VALID = (
        Valid(""),
        Valid("# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n"),
    )
    INVALID = (
        Invalid("def f(:\n    pass\n", (1,)),
        Invalid("x = 1\nprint 'python 2'\n", (2,)),
    )
