"""The evaluation as tables: warehouse rows and the model comparison (plain text, markdown).

`format_comparison` takes the `retrieval_metrics` table (Arrow, as read back from the
warehouse) or the rows of an `EvaluationResult`, so the main job can print it at its end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from twotower_assets.evaluation_logic.evaluate import METRICS, OVERALL, MetricRow

MODEL_ORDER = ("two_tower", "popularity", "cooccurrence")


def metrics_table(rows: Sequence[MetricRow]) -> pa.Table:
    return pa.table(
        {
            "model": pa.array([row.model for row in rows], pa.string()),
            "metric": pa.array([row.metric for row in rows], pa.string()),
            "category": pa.array([row.category for row in rows], pa.string()),
            "value": pa.array([row.value for row in rows], pa.float64()),
        }
    )


def recommendations_table(
    model: str, pids: np.ndarray, recommended: np.ndarray, track_uris: pa.Array
) -> pa.Table:
    """(model, pid, rank from 1, track_uri) for every non-empty slot of `recommended`."""
    n, k = recommended.shape
    filled = recommended >= 0
    ids = recommended[filled]
    uris = pa.DictionaryArray.from_arrays(pa.array(ids, pa.int64()), track_uris).cast(pa.string())
    return pa.table(
        {
            "model": pa.array(np.full(ids.size, model, dtype=object), pa.string()),
            "pid": pa.array(np.repeat(pids, k).reshape(n, k)[filled], pa.int64()),
            "rank": pa.array(np.tile(np.arange(1, k + 1), n).reshape(n, k)[filled], pa.int64()),
            "track_uri": uris,
        }
    )


def _as_rows(table: pa.Table | Sequence[MetricRow]) -> list[MetricRow]:
    if isinstance(table, pa.Table):
        return [
            MetricRow(str(r["model"]), str(r["metric"]), str(r["category"]), float(r["value"]))
            for r in table.to_pylist()
        ]
    return list(table)


def _grid(
    table: pa.Table | Sequence[MetricRow], category: str
) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    rows = [row for row in _as_rows(table) if row.category == category]
    values = {(row.model, row.metric): row.value for row in rows}
    found = {row.model for row in rows}
    models = [m for m in MODEL_ORDER if m in found] + sorted(found - set(MODEL_ORDER))
    metrics = [m for m in METRICS if any(r.metric == m for r in rows)]
    return models, metrics, values


def _cell(value: float | None) -> str:
    return "-" if value is None else (f"{value:.2f}" if value >= 10 else f"{value:.4f}")


def format_comparison(table: pa.Table | Sequence[MetricRow], category: str = OVERALL) -> str:
    """A plain-text grid: one line per model, one column per metric (clicks: lower is better)."""
    models, metrics, values = _grid(table, category)
    header = ["model", *metrics]
    lines = [header] + [
        [model, *[_cell(values.get((model, metric))) for metric in metrics]] for model in models
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def comparison_markdown(table: pa.Table | Sequence[MetricRow], category: str = OVERALL) -> str:
    models, metrics, values = _grid(table, category)
    lines = [
        "| model | " + " | ".join(metrics) + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    for model in models:
        cells = [_cell(values.get((model, metric))) for metric in metrics]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_category_markdown(table: pa.Table | Sequence[MetricRow], metric: str) -> str:
    """One metric by category (rows) and model (columns)."""
    rows = [row for row in _as_rows(table) if row.metric == metric]
    categories = sorted({row.category for row in rows} - {OVERALL}) + [OVERALL]
    found = {row.model for row in rows}
    models = [m for m in MODEL_ORDER if m in found] + sorted(found - set(MODEL_ORDER))
    values = {(row.model, row.category): row.value for row in rows}
    lines = ["| category | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
    for category in categories:
        cells = [_cell(values.get((model, category))) for model in models]
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
