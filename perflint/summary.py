"""FileSummary: the per-file facts the project phase needs (JSON-safe plain data).

No LibCST here: warm runs load summaries from the cache without the parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallSite:
    callee: str  # dotted name as written, e.g. "repo.get_user" or "self.load"
    loop_depth: int
    # Calls to the same callee text earlier in the function: (callee, index) finds the
    # call again in the source (perflint.locate) without storing positions for every call.
    index: int = 0
    # Inside a loop that runs once per input item (what PFL201 asks of a loop).
    multiplying: bool = False
    # Not run on every call of its function: in an ``except`` handler, or behind a cache the
    # function fills (perflint.summary_builder._settle). Carries no effect to callers.
    rare: bool = False
    # The arguments it passes: how many positionally (-1 with ``*args``), which by keyword
    # ("**" for ``**kwargs``); what perflint.interproc needs to tell an omitted parameter.
    positional: int = 0
    keywords: tuple[str, ...] = ()
    # Optional parameters of its function (see FunctionSummary.optional) that it runs only
    # when given: "size" when behind ``if size:``, "size?" behind ``if size is not None:``.
    needs: tuple[str, ...] = ()
    # Arguments that hand on an optional parameter of its function unchanged: "slot=param",
    # the slot a keyword or a positional index ("attach=attach", "2=size").
    forwards: tuple[str, ...] = ()

    def to_json(self) -> list[Any]:
        data: list[Any] = [self.callee, self.loop_depth, self.index, self.multiplying,
                           self.rare, self.positional, list(self.keywords), list(self.needs),
                           list(self.forwards)]
        while len(data) > 4 and data[-1] in (False, 0, []):  # trailing defaults left out
            data.pop()
        return data

    @classmethod
    def from_json(cls, data: list[Any]) -> CallSite:
        callee, loop_depth, index, multiplying, *rest = data
        site = cls(str(callee), int(loop_depth), int(index), bool(multiplying))
        if rest:  # trailing defaults were left out
            site.rare = bool(rest[0])
            if len(rest) > 1:
                site.positional = int(rest[1])
            if len(rest) > 2:
                site.keywords = tuple(map(str, rest[2]))
            if len(rest) > 3:
                site.needs = tuple(map(str, rest[3]))
            if len(rest) > 4:
                site.forwards = tuple(map(str, rest[4]))
        return site


@dataclass
class FunctionSummary:
    qualname: str
    is_async: bool
    entry: str | None  # "handler" | "task" | "signal" | "cli" | None
    calls: list[CallSite] = field(default_factory=list)
    queries: bool = False
    # Effect ("query", "write") -> (callee, index) of the function's first call that has it.
    effects: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Local name -> the class it was built from (``svc = PricingService()``), so that
    # ``svc.discount(x)`` resolves to ``PricingService.discount``.
    instances: dict[str, str] = field(default_factory=dict)
    cached: bool = False  # memoised (``@lru_cache``): repeated calls do not repeat its effects
    # Parameters that default to None ("none") or to False/0/"" ("falsy"): a caller that
    # leaves one out skips the calls that need it (CallSite.needs, taken only from tests the
    # parameter reaches unrebound). ``params``: the positional parameters in order, kept
    # only when there are optional ones.
    optional: dict[str, str] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)


@dataclass
class FileSummary:
    path: str
    module: str
    imports: dict[str, str] = field(default_factory=dict)  # local alias -> dotted origin
    functions: list[FunctionSummary] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # module-level singletons, as above
    # Functions named as entry points by reference, not by a decorator: [callee text, kind]
    # (``path("orders/", views.orders)`` -> handler; calls under ``if __name__ == "__main__"``
    # -> cli). Resolved like calls in the project phase.
    entry_refs: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # Hand-written: dataclasses.asdict recurses generically and shows up in profiles.
        return {
            "path": self.path,
            "module": self.module,
            "imports": dict(self.imports),
            "instances": dict(self.instances),
            "entry_refs": [list(ref) for ref in self.entry_refs],
            "functions": [
                {"qualname": f.qualname, "is_async": f.is_async, "entry": f.entry,
                 "queries": f.queries,
                 "effects": {effect: list(site) for effect, site in f.effects.items()},
                 "instances": dict(f.instances),
                 "cached": f.cached,
                 **({"optional": dict(f.optional), "params": list(f.params)} if f.optional else {}),
                 "calls": [c.to_json() for c in f.calls]}
                for f in self.functions
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileSummary:
        functions = [
            FunctionSummary(f["qualname"], f["is_async"], f["entry"],
                            [CallSite(str(c[0]), int(c[1]), int(c[2]), bool(c[3])) if len(c) == 4
                             else CallSite.from_json(c) for c in f["calls"]],
                            bool(f.get("queries")),
                            {str(k): (str(v[0]), int(v[1])) for k, v in f.get("effects", {}).items()},
                            dict(f.get("instances", {})), bool(f.get("cached")),
                            {str(k): str(v) for k, v in f.get("optional", {}).items()},
                            list(map(str, f.get("params", []))))
            for f in data.get("functions", [])
        ]
        return cls(data["path"], data["module"], dict(data.get("imports", {})), functions,
                   dict(data.get("instances", {})),
                   [(str(ref[0]), str(ref[1])) for ref in data.get("entry_refs", [])])


def module_name_for(path: str) -> str:
    """``shop/app.py`` -> ``shop.app``; ``pkg/__init__.py`` -> ``pkg``."""
    name = path.removesuffix(".py")
    name = name.replace("\\", "/").strip("/").replace("/", ".")
    name = name.removesuffix(".__init__")
    return name
