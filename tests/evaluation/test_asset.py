"""`retrieval_metrics` materialized on a real DuckDB file: tables, reconciled figures, the gate."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pytest

from resources import ArtifactStore, DatasetSettings, DuckDBWarehouse
from twotower_assets import evaluation
from twotower_assets.evaluation_logic import metrics
from twotower_assets.evaluation_logic.report import format_comparison


def _materialize(home: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [
            evaluation.retrieval_metrics,
            evaluation.two_tower_beats_popularity,
            evaluation.recommendations_are_well_formed,
        ],
        resources={
            "warehouse": DuckDBWarehouse(database=str(home / "warehouse.duckdb")),
            "artifacts": ArtifactStore(root=str(home)),
            "dataset": DatasetSettings(history_length=5, valid_modulus=10),
        },
        raise_on_error=False,
    )


def _home_with_tower(world: Any, saver: Any, tmp_path: Path, trained: bool) -> Path:
    home = tmp_path / "home"
    shutil.copytree(world.home, home)
    saver(world, home / "model" / "query_tower", trained=trained)
    return home


@pytest.mark.slow
def test_trained_tower_passes_the_gate_and_tables_reconcile(
    world: Any, tower_saver: Any, tmp_path: Path
) -> None:
    home = _home_with_tower(world, tower_saver, tmp_path, trained=True)
    result = _materialize(home)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["two_tower_beats_popularity"].passed
    assert checks["recommendations_are_well_formed"].passed

    connection = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        table = connection.sql("SELECT * FROM retrieval_metrics").to_arrow_table()
        counts = connection.execute(
            "SELECT model, COUNT(*), COUNT(DISTINCT pid), MAX(rank) FROM recommendations "
            "GROUP BY model ORDER BY model"
        ).fetchall()
        playlists = connection.execute("SELECT COUNT(*) FROM holdout_playlists").fetchone()[0]
        recs = connection.execute(
            "SELECT pid, track_uri FROM recommendations WHERE model = 'cooccurrence' "
            "ORDER BY pid, rank"
        ).fetchall()
        hidden = connection.execute("SELECT pid, track_uri FROM holdout_hidden").fetchall()
        categories = dict(
            connection.execute("SELECT pid, category FROM holdout_playlists").fetchall()
        )
    finally:
        connection.close()
    # Every model answers 500 tracks for every held-out playlist (catalogue of 640 tracks).
    assert counts == [
        (m, playlists * 500, playlists, 500) for m in ("cooccurrence", "popularity", "two_tower")
    ]
    models = set(table.column("model").to_pylist())
    assert models == {"two_tower", "popularity", "cooccurrence"}
    assert set(table.column("metric").to_pylist()) == {
        "r_precision", "r_precision_artist", "ndcg", "clicks",
        "recall@10", "recall@50", "recall@100", "recall@500",
    }  # fmt: skip
    assert {"all", *categories.values()} == set(table.column("category").to_pylist())

    # Recompute R-precision and NDCG of one model from the tables, as the acceptance checks do.
    by_pid: dict[int, list[str]] = {}
    for pid, uri in recs:
        by_pid.setdefault(pid, []).append(uri)
    truth: dict[int, list[str]] = {}
    for pid, uri in hidden:
        truth.setdefault(pid, []).append(uri)
    r_prec = np.mean([metrics.r_precision(truth[p], by_pid[p]) for p in truth])
    ndcg = np.mean([metrics.ndcg(truth[p], by_pid[p]) for p in truth])
    values = {(r["model"], r["metric"], r["category"]): r["value"] for r in table.to_pylist()}
    assert values[("cooccurrence", "r_precision", "all")] == pytest.approx(r_prec)
    assert values[("cooccurrence", "ndcg", "all")] == pytest.approx(ndcg)

    # The synthetic world has structure: both structured models clearly beat popularity.
    for model in ("two_tower", "cooccurrence"):
        assert (
            values[(model, "r_precision", "all")] > 2 * values[("popularity", "r_precision", "all")]
        )

    metadata = result.asset_materializations_for_node("retrieval_metrics")[0].metadata
    assert metadata["two_tower/r_precision"].value == pytest.approx(
        values[("two_tower", "r_precision", "all")]
    )
    assert "| two_tower |" in metadata["comparison"].value
    text = format_comparison(table)
    assert text.splitlines()[0].split()[:3] == ["model", "r_precision", "r_precision_artist"]
    assert [line.split()[0] for line in text.splitlines()[2:]] == [
        "two_tower", "popularity", "cooccurrence"
    ]  # fmt: skip


@pytest.mark.slow
def test_untrained_tower_fails_the_blocking_gate(
    world: Any, tower_saver: Any, tmp_path: Path
) -> None:
    home = _home_with_tower(world, tower_saver, tmp_path, trained=False)
    result = _materialize(home)
    assert not result.success
    gate = next(
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "two_tower_beats_popularity"
    )  # fmt: skip
    assert not gate.passed
    assert "r_precision" in (gate.description or "")
