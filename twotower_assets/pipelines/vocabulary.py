"""Vocabularies and numeric statistics of the training split, computed by SQL in the warehouse.

Queries are written once in BigQuery's dialect and transpiled with sqlglot for DuckDB. Output:
`vocabulary.json` plus one `<name>.txt` per vocabulary (most frequent first). No Dagster here.

Newlines would break one-value-per-line files, so every vocabulary value has "\\r" and "\\n"
replaced by one space (NEWLINE_PATTERN); the towers must apply the same replacement
(`tf.strings.regex_replace(x, NEWLINE_PATTERN, " ")`) before looking a value up.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot

from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, TRAINING_FEATURES

FORMAT_VERSION = 1
NEWLINE_PATTERN = "[\\r\\n]"
# Title tokens: lowercase, every Unicode punctuation (P*) or symbol (S*) character becomes a
# space, split on whitespace. Python equivalent: `title_tokens` below.
TITLE_SEPARATORS = r"[\p{P}\p{S}\s]+"

# Vocabulary name -> the candidate column and the history column of `training_pairs` it covers.
# One per string candidate feature of the spec (track_uri, track_name, ..., artist_genres).
VALUE_VOCABULARIES: dict[str, tuple[str, str]] = {
    f.source_column: (f.name, f"{f.source_column}_pl")
    for f in CANDIDATE_FEATURES
    if f.dtype == "string"
}
VOCABULARY_NAMES = (*VALUE_VOCABULARIES, "title_tokens")
FLOAT_FEATURES = tuple(f for f in TRAINING_FEATURES if f.dtype == "float")


def title_tokens(title: str) -> list[str]:
    """The Python twin of the SQL tokenization (for towers and for checking)."""
    import unicodedata

    cleaned = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in title.lower())
    return cleaned.split()


@dataclass(frozen=True)
class Warehouse:
    """What this module needs from a warehouse (the resource satisfies it)."""

    dialect: str
    table_ref: Callable[[str], str]
    query: Callable[[str], pa.Table]


def _render(sql: str, dialect: str) -> str:
    if dialect == "bigquery":
        return sql
    return sqlglot.transpile(sql, read="bigquery", write=dialect)[0]


def _train(table_ref: Callable[[str], str]) -> str:
    return f"SELECT * FROM {table_ref('training_pairs')} WHERE split = 'train'"


def value_vocabulary_sql(name: str, table_ref: Callable[[str], str]) -> str:
    """Values of one vocabulary with their occurrences in training playlists, most frequent first.

    Every track occurrence at position >= 1 is one pair's candidate; the track at position 0 is
    the single history element of the pair at pos 1. Together: each occurrence counted once.
    """
    candidate, history = VALUE_VOCABULARIES[name]
    return f"""
WITH train AS ({_train(table_ref)}),
occurrences AS (
  SELECT {candidate} AS value FROM train
  UNION ALL
  SELECT {history}[OFFSET(0)] AS value FROM train WHERE pos = 1 AND ARRAY_LENGTH({history}) > 0
)
SELECT REGEXP_REPLACE(value, r'{NEWLINE_PATTERN}', ' ') AS value, COUNT(*) AS frequency
FROM occurrences
GROUP BY 1
ORDER BY frequency DESC, value
"""


def title_tokens_sql(table_ref: Callable[[str], str]) -> str:
    return f"""
WITH titles AS (SELECT DISTINCT pid, name FROM ({_train(table_ref)})),
tokens AS (
  SELECT token
  FROM titles
  CROSS JOIN UNNEST(SPLIT(TRIM(REGEXP_REPLACE(LOWER(name), r'{TITLE_SEPARATORS}', ' ')), ' '))
    AS token
)
SELECT token AS value, COUNT(*) AS frequency
FROM tokens
WHERE token != ''
GROUP BY 1
ORDER BY frequency DESC, value
"""


def statistics_sql(feature_name: str, is_list: bool, table_ref: Callable[[str], str]) -> str:
    source = f"train CROSS JOIN UNNEST({feature_name}) AS v" if is_list else "train"
    value = "v" if is_list else feature_name
    return f"""
WITH train AS ({_train(table_ref)})
SELECT MIN({value}) AS min, MAX({value}) AS max, AVG({value}) AS mean,
       VAR_POP({value}) AS variance, COUNT({value}) AS count
FROM {source}
"""


def distinct_count_sql(name: str, table_ref: Callable[[str], str]) -> str:
    """Independent recount for checks: distinct values over candidates and whole histories."""
    candidate, history = VALUE_VOCABULARIES[name]
    return f"""
WITH train AS ({_train(table_ref)}),
everything AS (
  SELECT {candidate} AS value FROM train
  UNION ALL
  SELECT element AS value FROM train CROSS JOIN UNNEST({history}) AS element
)
SELECT COUNT(DISTINCT REGEXP_REPLACE(value, r'{NEWLINE_PATTERN}', ' ')) AS n FROM everything
"""


def compute_vocabulary(
    warehouse: Warehouse, output_dir: str, history_length: int, valid_modulus: int
) -> dict[str, Any]:
    """Run every query, write the `.txt` files and `vocabulary.json` into `output_dir`."""

    def run(sql: str) -> pa.Table:
        return warehouse.query(_render(sql, warehouse.dialect))

    train_pairs = int(
        run(f"SELECT COUNT(*) AS n FROM ({_train(warehouse.table_ref)})").column(0)[0].as_py()
    )
    if train_pairs == 0:
        raise ValueError("training_pairs has no rows with split = 'train': nothing to count")
    vocabularies: dict[str, Any] = {}
    distinct_counts: dict[str, int] = {}
    for name in VOCABULARY_NAMES:
        sql = (
            title_tokens_sql(warehouse.table_ref)
            if name == "title_tokens"
            else value_vocabulary_sql(name, warehouse.table_ref)
        )
        values = run(sql).column("value").to_pylist()
        if any(value is None for value in values):
            raise ValueError(f"vocabulary {name!r}: NULL values in training_pairs")
        file_name = f"{name}.txt"
        with open(os.path.join(output_dir, file_name), "w", encoding="utf-8", newline="\n") as out:
            out.writelines(f"{value}\n" for value in values)
        vocabularies[name] = {"file": file_name, "size": len(values)}
        distinct_counts[name] = len(values)
    statistics: dict[str, dict[str, float]] = {}
    for feature in FLOAT_FEATURES:
        row = run(
            statistics_sql(feature.name, feature.shape == "var_len", warehouse.table_ref)
        ).to_pylist()[0]
        statistics[feature.name] = {
            key: (float(row[key]) if row[key] is not None else math.nan)
            for key in ("min", "max", "mean", "variance")
        } | {"count": int(row["count"])}
    document = {
        "format_version": FORMAT_VERSION,
        "history_length": history_length,
        "valid_modulus": valid_modulus,
        "train_pairs": train_pairs,
        "vocabularies": vocabularies,
        "statistics": statistics,
        "distinct_counts": distinct_counts,
        "normalization": {
            "newlines": f"values matching {NEWLINE_PATTERN} replaced by one space",
            "title_tokens": f"lowercase, {TITLE_SEPARATORS} -> space, split on whitespace",
        },
    }
    with open(os.path.join(output_dir, "vocabulary.json"), "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, allow_nan=True)
    return document
