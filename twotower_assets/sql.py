"""Loading the warehouse SQL of `sql/` and rendering it for one engine.

Each `sql/<table>.sql` is written once, in BigQuery's dialect, as a single SELECT; `{{ name }}`
placeholders take parameters (integers only). `render` fills them, qualifies the table names the
graph creates for the engine, and transpiles with sqlglot for DuckDB. `sql_code_version` hashes
the file text: editing a query makes exactly its asset stale.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import sqlglot
from sqlglot import exp

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def sql_path(name: str) -> Path:
    return SQL_DIR / f"{name}.sql"


def load_sql(name: str) -> str:
    path = sql_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no SQL file for table {name!r}: expected {path}")
    return path.read_text(encoding="utf-8")


def sql_code_version(name: str) -> str:
    return hashlib.sha256(load_sql(name).encode("utf-8")).hexdigest()[:16]


def fill_parameters(text: str, params: Mapping[str, int | float]) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in params:
            raise KeyError(f"SQL parameter {{{{ {key} }}}} has no value; given: {sorted(params)}")
        value = params[key]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"SQL parameter {key} must be a number, got {value!r}")
        return repr(value)

    return _PLACEHOLDER.sub(substitute, text)


def referenced_tables(name: str, params: Mapping[str, int | float] | None = None) -> set[str]:
    """Table names the query reads (CTE names excluded), from the BigQuery form."""
    tree = sqlglot.parse_one(fill_parameters(load_sql(name), params or {}), read="bigquery")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def render(
    name: str,
    dialect: str,
    params: Mapping[str, int | float] | None = None,
    table_ref: Callable[[str], str] | None = None,
) -> str:
    """The SELECT of `sql/<name>.sql` for `dialect`, with tables qualified by `table_ref`."""
    text = fill_parameters(load_sql(name), params or {})
    tree = sqlglot.parse_one(text, read="bigquery")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    if table_ref is not None:
        for table in list(tree.find_all(exp.Table)):
            if table.name and table.name not in ctes and not table.db:
                qualified = sqlglot.parse_one(table_ref(table.name), read=dialect, into=exp.Table)
                alias = table.args.get("alias")
                if alias is not None:
                    qualified.set("alias", alias)
                table.replace(qualified)
    return tree.sql(dialect=dialect, pretty=True)
