"""Partial re-materialization, proven on one persistent instance: a changed SQL file makes only
its asset stale, re-running it makes only its downstream stale and re-runs nothing upstream;
running only the stale assets brings the graph back to fresh; a new slice is one new partition.

The default scope is ingest + warehouse + vocabulary (fast); the "full" variant runs the whole
graph (tfrecords, training, embeddings, evaluation) and is marked slow.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from dagster._core.definitions.data_version import StaleStatus

import twotower_assets.sql

# Named explicitly so a missing asset fails here instead of shrinking the scope.
CORE_REQUIRED = ["playlists", "tracks", "training_pairs", "vocabulary"]
CHANGED_SQL = "training_pairs"  # the SQL file the tests edit
WAREHOUSE_MODULE = "twotower_assets.warehouse"
FRESH, STALE = StaleStatus.FRESH, StaleStatus.STALE

SCOPES = ["core", pytest.param("full", marks=pytest.mark.slow)]


def _scope(graph, name: str) -> set[str]:
    missing = sorted(set(CORE_REQUIRED) - graph.keys)
    assert not missing, f"assets missing from twotower_assets: {missing}; has {sorted(graph.keys)}"
    if name == "full":
        return set(graph.keys)
    warehouse = {
        k.to_user_string()
        for a in graph.assets
        for k in a.keys
        if a.group_names_by_key.get(k) == "warehouse"
    }
    return graph.upstream_closure({"vocabulary", *warehouse})


def _unpartitioned(scope: set[str]) -> set[str]:
    return scope - {"playlists"}


def _bring_to_fresh(graph, scope: set[str]) -> None:
    """First slice ingested and everything in scope materialized and FRESH."""
    if (("playlists", graph.slices[0])) not in graph.counts(["playlists"]):
        graph.materialize(["playlists"], partition=graph.slices[0])
    todo = {k for k, s in graph.statuses(_unpartitioned(scope)).items() if s != FRESH}
    # What is stale and everything below it, in one run (a stale parent restales its children).
    todo |= {d for k in todo for d in graph.downstream(k, within=_unpartitioned(scope))}
    if todo:
        graph.materialize(todo)
    statuses = graph.statuses(_unpartitioned(scope))
    assert all(s == FRESH for s in statuses.values()), statuses


@pytest.mark.parametrize("scope_name", SCOPES)
def test_changed_sql_restales_only_its_asset_then_its_downstream(
    graph, scope_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = _scope(graph, scope_name)
    _bring_to_fresh(graph, scope)
    downstream = graph.downstream(CHANGED_SQL, within=scope)
    upstream = graph.upstream_closure([CHANGED_SQL]) - {CHANGED_SQL}
    assert downstream, f"{CHANGED_SQL} has nothing downstream within {sorted(scope)}"
    assert "playlists" in upstream, f"{CHANGED_SQL} does not read playlists: {sorted(upstream)}"
    before = graph.counts(scope)

    # Edit one SQL file (a copy of sql/, so the tree is untouched) and reload its module.
    sql_copy = tmp_path / "sql"
    shutil.copytree(twotower_assets.sql.SQL_DIR, sql_copy)
    edited = sql_copy / f"{CHANGED_SQL}.sql"
    edited.write_text(edited.read_text() + "\n-- edited by the re-materialization test\n")
    monkeypatch.setattr(twotower_assets.sql, "SQL_DIR", sql_copy)
    try:
        graph.rebuild(reload=[WAREHOUSE_MODULE])

        stale = {k: s for k, s in graph.statuses(_unpartitioned(scope)).items() if s != FRESH}
        assert stale == {CHANGED_SQL: STALE}, f"after editing {edited.name}: {stale}"
        assert [c[0] for c in graph.causes(CHANGED_SQL)] == ["CODE"], graph.causes(CHANGED_SQL)

        graph.materialize([CHANGED_SQL])
        ran = graph.counts(scope) - before
        assert ran == Counter({(CHANGED_SQL, None): 1}), f"re-running {CHANGED_SQL} ran {ran}"
        statuses = graph.statuses(_unpartitioned(scope))
        now_stale = {k for k, s in statuses.items() if s == STALE}
        # Its direct readers are stale because of new data (Dagster reports a grandchild once
        # its parent has changed); nothing upstream is.
        children = {k for k in downstream if CHANGED_SQL in graph.parents(k)}
        assert now_stale == children, f"stale {sorted(now_stale)}, expected {sorted(children)}"
        for key in children:
            categories = {c[0] for c in graph.causes(key)}
            assert categories == {"DATA"}, f"{key}: {graph.causes(key)}"
        assert all(statuses[k] == FRESH for k in upstream - {"playlists"}), statuses
        assert graph.slice_status(graph.slices[0]) == FRESH

        # "Materialize unsynced", round after round: each round runs exactly the stale assets;
        # in the end every downstream asset ran and the graph is fresh.
        mid = graph.counts(scope)
        for _ in range(len(scope)):
            stale = {k for k, s in graph.statuses(_unpartitioned(scope)).items() if s != FRESH}
            if not stale:
                break
            assert stale <= downstream, f"stale outside the changed asset's downstream: {stale}"
            before_round = graph.counts(scope)
            graph.materialize(sorted(stale))
            assert graph.counts(scope) - before_round == Counter({(k, None): 1 for k in stale})
        ran = graph.counts(scope) - mid
        # Every downstream asset ran, nothing else did (an asset that reads the changed table
        # directly and through another asset, like retrieval_metrics, may run in two rounds).
        assert {k for k, _ in ran} == downstream, f"stale-only rounds ran {ran}"
        statuses = graph.statuses(_unpartitioned(scope))
        assert all(s == FRESH for s in statuses.values()), statuses
        untouched = {k: n for k, n in graph.counts(upstream).items()}
        assert untouched == {k: n for k, n in before.items() if k[0] in upstream}
    finally:
        # Back to the SQL of the tree; the next test starts by re-running what that restales.
        monkeypatch.undo()
        graph.rebuild(reload=[WAREHOUSE_MODULE])


def test_new_slice_is_one_partition_and_reingests_nothing_else(graph) -> None:
    scope = _scope(graph, "core")
    _bring_to_fresh(graph, scope)
    first, new = graph.slices[0], graph.slices[1]
    ingested = graph.warehouse_rows_by_slice("playlists")
    assert set(ingested) == {first}, ingested
    before = graph.counts(scope)

    assert graph.partition_keys() == [first]
    graph.add_slice(new)
    # One new partition, never materialized; the first one is still up to date.
    assert graph.partition_keys() == [first, new]
    assert ("playlists", new) not in before
    assert graph.slice_status(first) == FRESH

    graph.materialize(["playlists"], partition=new)
    ran = graph.counts(scope) - before
    assert ran == Counter({("playlists", new): 1}), f"ingesting {new} ran {ran}"
    rows = graph.warehouse_rows_by_slice("playlists")
    assert rows[first] == ingested[first], f"slice {first} changed: {ingested} -> {rows}"
    assert rows[new] > 0, rows
    assert graph.slice_status(new) == FRESH

    # Rebuilding the downstream by hand (what a person does after adding slices) re-runs no
    # ingest and leaves the graph fresh.
    mid = graph.counts(scope)
    graph.materialize(sorted(_unpartitioned(scope)))
    ran = graph.counts(scope) - mid
    assert ran == Counter({(k, None): 1 for k in _unpartitioned(scope)}), ran
    statuses = graph.statuses(_unpartitioned(scope))
    assert all(s == FRESH for s in statuses.values()), statuses


def test_new_slice_marks_the_downstream_stale(graph) -> None:
    # Dagster 1.13 ignores, for staleness, a parent with >= 100 partitions
    # (SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD); the slice partitions are the files
    # present, so a sample of a few slices keeps the signal (docs/operating.md, Adding a slice).
    scope = _scope(graph, "core")
    _bring_to_fresh(graph, scope)
    new = graph.slices[2]
    graph.add_slice(new)
    graph.materialize(["playlists"], partition=new)
    # The assets that read the slices directly; Dagster reports their children once they change.
    readers = {
        k
        for k in _unpartitioned(scope)
        if "playlists" in graph.upstream_closure([k]) and "playlists" in graph.parents(k)
    }
    assert {"tracks", "training_pairs"} <= readers, readers
    assert graph.slice_status(new) == FRESH
    statuses = graph.statuses(readers)
    assert all(s == STALE for s in statuses.values()), f"after ingesting slice {new}: {statuses}"
    for key in readers:
        causes = graph.causes(key)
        assert {c[0] for c in causes} == {"DATA"}, f"{key}: {causes}"

    # Materialize only what is stale, round after round (the UI's "Materialize unsynced"),
    # until the graph is fresh; each round runs exactly the stale assets.
    for _ in range(len(scope)):
        stale = {k for k, s in graph.statuses(_unpartitioned(scope)).items() if s != FRESH}
        if not stale:
            break
        before = graph.counts(scope)
        graph.materialize(sorted(stale))
        assert graph.counts(scope) - before == Counter({(k, None): 1 for k in stale})
    statuses = graph.statuses(_unpartitioned(scope))
    assert all(s == FRESH for s in statuses.values()), statuses
