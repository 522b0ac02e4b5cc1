"""perflint: a static performance linter for Python services and the SQL they run."""

__version__ = "0.1.0"
