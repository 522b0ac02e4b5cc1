"""The perflint rule pack (installed as ``perflint.rules``).

One module per rule, grouped by family. The catalog below is the registration:
code -> "module:Class". It lets perflint list and validate codes without importing
the rules (and therefore LibCST or sqlglot) on runs where every file is cached.
"""

CATALOG: dict[str, str] = {
    "PFL101": "perflint.rules.sql.select_star:SelectStar",
    "PFL102": "perflint.rules.sql.not_in_subquery:NotInSubquery",
    "PFL103": "perflint.rules.sql.non_sargable:NonSargable",
    "PFL104": "perflint.rules.sql.leading_wildcard:LeadingWildcard",
    "PFL105": "perflint.rules.sql.or_across_columns:OrAcrossColumns",
    "PFL106": "perflint.rules.sql.order_by_random:OrderByRandom",
    "PFL107": "perflint.rules.sql.deep_offset:DeepOffset",
    "PFL108": "perflint.rules.sql.unfiltered_count:UnfilteredCount",
    "PFL109": "perflint.rules.sql.implicit_cast:ImplicitCast",
    "PFL110": "perflint.rules.sql.unbounded_select:UnboundedSelect",
    "PFL111": "perflint.rules.sql.unqualified_write:UnqualifiedWrite",
    "PFL112": "perflint.rules.sql.insert_without_columns:InsertWithoutColumns",
    "PFL113": "perflint.rules.sql.missing_index:MissingIndex",
    "PFL201": "perflint.rules.db.n_plus_one:NPlusOne",
    "PFL202": "perflint.rules.db.lazy_load_in_loop:LazyLoadInLoop",
    "PFL203": "perflint.rules.db.write_in_loop:WriteInLoop",
    "PFL204": "perflint.rules.db.unpaginated_fetch:UnpaginatedFetch",
    "PFL205": "perflint.rules.db.connection_per_call:ConnectionPerCall",
    "PFL206": "perflint.rules.db.redis_keys:RedisKeys",
    "PFL207": "perflint.rules.db.queryset_len:QuerysetLen",
    "PFL301": "perflint.rules.aio.await_in_loop:AwaitInLoop",
    "PFL302": "perflint.rules.aio.sequential_awaits:SequentialAwaits",
    "PFL303": "perflint.rules.aio.blocking_in_async:BlockingInAsync",
    "PFL304": "perflint.rules.aio.http_in_loop:HttpInLoop",
    "PFL401": "perflint.rules.algo.quadratic_loop:QuadraticLoop",
    "PFL402": "perflint.rules.algo.list_membership:ListMembershipInLoop",
    "PFL403": "perflint.rules.algo.list_front_ops:ListFrontOps",
    "PFL404": "perflint.rules.algo.str_concat:StrConcatInLoop",
    "PFL405": "perflint.rules.algo.list_scan:ListScanInLoop",
    "PFL406": "perflint.rules.algo.sort_in_loop:SortInLoop",
    "PFL407": "perflint.rules.algo.quadratic_sum:QuadraticSum",
    "PFL901": "perflint.rules.tool.parse_error:ParseError",
    "PFL902": "perflint.rules.tool.sql_unparsed:SqlUnparsed",
}
