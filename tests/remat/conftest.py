"""Partial re-materialization harness: the real asset modules on one persistent instance.

`Graph` rebuilds the assets from `twotower_assets.definitions._GROUPS` (so a reloaded module
brings its new code versions), materializes selections in process with the local resources,
and reads staleness the way the UI does (`CachingStaleStatusResolver`) and materialization
counts per (asset, partition) from the instance.
"""

from __future__ import annotations

import importlib
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.temporal_context import TemporalContext
from dagster._time import get_current_datetime

# Slice files of the remat sample: 2,100 playlists give "0-999", "1000-1999" (1,000 each) and
# "2000-2999" (100); the tests start with the first one and add the others one at a time.
SAMPLE_PLAYLISTS = 2100
SLICES = ("0-999", "1000-1999", "2000-2999")


def slice_file(key: str) -> str:
    return f"mpd.slice.{key}.json"


@dataclass
class Graph:
    """The asset graph of twotower over one instance and one set of local resources."""

    instance: dg.DagsterInstance
    resources: dict[str, Any]
    home: Path  # TWOTOWER_HOME: the DuckDB warehouse and the artifacts
    mpd_dir: Path  # TWOTOWER_MPD_DIR: the slice files the ingest sees
    sample_dir: Path  # every generated slice file, copied into mpd_dir one by one
    slices: tuple[str, ...] = SLICES
    assets: list[dg.AssetsDefinition] = field(default_factory=list)
    checks: list[Any] = field(default_factory=list)

    def rebuild(self, reload: Iterable[str] = ()) -> None:
        """(Re)load the asset modules; modules named in `reload` are re-imported first."""
        from twotower_assets import definitions

        for name in reload:
            importlib.reload(importlib.import_module(name))
        groups = {
            group: importlib.import_module(module.__name__)
            for group, module in definitions._GROUPS.items()
        }
        self.assets = [
            a
            for group, module in groups.items()
            for a in dg.load_assets_from_modules([module], group_name=group)
            if isinstance(a, dg.AssetsDefinition)
        ]
        self.checks = list(dg.load_asset_checks_from_modules(list(groups.values())))

    def add_slice(self, key: str) -> None:
        """A new slice file arrives in the MPD folder, then the definitions are reloaded
        (the UI's "Reload definitions"): the slice partitions are the files present."""
        assert not (self.mpd_dir / slice_file(key)).exists(), f"slice {key} is already there"
        shutil.copy(self.sample_dir / slice_file(key), self.mpd_dir)
        self.rebuild(reload=["twotower_assets.partitions", "twotower_assets.ingest"])

    def partition_keys(self) -> list[str]:
        ingest = next(a for a in self.assets if dg.AssetKey("playlists") in a.keys)
        assert ingest.partitions_def is not None
        return list(ingest.partitions_def.get_partition_keys())

    def warehouse_rows_by_slice(self, table: str) -> dict[str, int]:
        wh = self.resources["warehouse"]
        rows = wh.query(
            f"SELECT slice, COUNT(*) AS n FROM {wh.table_ref(table)} GROUP BY slice"
        ).to_pylist()
        return {str(r["slice"]): int(r["n"]) for r in rows}

    @property
    def keys(self) -> set[str]:
        return {k.to_user_string() for a in self.assets for k in a.keys}

    def asset_graph(self) -> AssetGraph:
        return AssetGraph.from_assets(self.assets)

    def upstream_closure(self, names: Iterable[str]) -> set[str]:
        """`names` and everything they read, transitively."""
        graph = self.asset_graph()
        keys = {dg.AssetKey(n) for n in names}
        selection = dg.AssetSelection.assets(*keys).upstream()
        return {k.to_user_string() for k in selection.resolve(graph)}

    def parents(self, name: str) -> set[str]:
        node = self.asset_graph().get(dg.AssetKey(name))
        return {key.to_user_string() for key in node.parent_keys}

    def downstream(self, name: str, within: set[str]) -> set[str]:
        graph = self.asset_graph()
        selection = dg.AssetSelection.assets(dg.AssetKey(name)).downstream()
        return {k.to_user_string() for k in selection.resolve(graph)} & within - {name}

    def materialize(
        self, names: Iterable[str], partition: str | None = None
    ) -> dg.ExecuteInProcessResult:
        """Run the selection (its checks included) and assert every check passed."""
        selection = sorted(set(names))
        result = dg.materialize(
            [*self.assets, *self.checks],
            instance=self.instance,
            resources=self.resources,
            selection=selection,
            partition_key=partition,
            raise_on_error=False,
        )
        assert result.success, (
            f"materialize {selection} (partition {partition}) failed in steps "
            f"{result.get_failed_step_keys()}: "
            + "; ".join(
                str(e.event_specific_data.error.message)  # type: ignore[union-attr]
                for e in result.all_events
                if e.is_step_failure
            )
        )
        failed_checks = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed
        ]
        assert not failed_checks, f"checks failed in {selection}: {failed_checks}"
        return result

    def statuses(self, names: Iterable[str]) -> dict[str, StaleStatus]:
        resolver = self._resolver()
        return {n: resolver.get_status(dg.AssetKey(n)) for n in sorted(names)}

    def causes(self, name: str) -> list[tuple[str, str, str | None]]:
        """(category, reason, dependency) of each root cause, as the UI lists them."""
        resolver = self._resolver()
        return [
            (
                c.category.value,
                c.reason,
                c.dependency.asset_key.to_user_string() if c.dependency else None,
            )
            for c in resolver.get_stale_causes(dg.AssetKey(name))
        ]

    def slice_status(self, key: str) -> StaleStatus:
        return self._resolver().get_status(dg.AssetKey("playlists"), key)

    def _resolver(self) -> CachingStaleStatusResolver:
        graph = self.asset_graph()
        now = TemporalContext(effective_dt=get_current_datetime(), last_event_id=None)
        view = AssetGraphView(
            temporal_context=now,
            instance=self.instance,
            asset_graph=graph,
        )
        return CachingStaleStatusResolver(
            instance=self.instance, asset_graph=graph, loading_context=view
        )

    def counts(self, names: Iterable[str]) -> Counter[tuple[str, str | None]]:
        """Materializations recorded per (asset, partition)."""
        out: Counter[tuple[str, str | None]] = Counter()
        for name in names:
            records = self.instance.fetch_materializations(dg.AssetKey(name), limit=10_000)
            for record in records.records:
                out[(name, record.partition_key)] += 1
        return out


@pytest.fixture(scope="module")
def remat_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All slice files of the sample, generated once; tests copy them into the MPD folder."""
    from twotower_assets.mpd.generate import generate_mpd

    out = tmp_path_factory.mktemp("mpd_all")
    generate_mpd(out, playlists=SAMPLE_PLAYLISTS, seed=11, workers=1)
    names = sorted(p.name for p in out.glob("mpd.slice.*.json"))
    assert names == sorted(slice_file(k) for k in SLICES), f"generate_mpd wrote {names}"
    return out


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory, remat_sample: Path) -> Iterator[Graph]:
    """One persistent instance (a DAGSTER_HOME on disk) and an MPD folder holding slice 0-999."""
    base = tmp_path_factory.mktemp("remat")
    mpd_dir = base / "mpd"
    mpd_dir.mkdir()
    shutil.copy(remat_sample / slice_file(SLICES[0]), mpd_dir)
    home = base / "home"
    home.mkdir()
    (base / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWOTOWER_HOME", str(home))
        mp.setenv("TWOTOWER_MPD_DIR", str(mpd_dir))
        mp.setenv("TWOTOWER_PROFILE", "local")
        from resources import build_resources

        with dg.instance_for_test(temp_dir=str(base / "dagster_home")) as instance:
            g = Graph(
                instance=instance,
                resources=build_resources("local"),
                home=home,
                mpd_dir=mpd_dir,
                sample_dir=remat_sample,
            )
            g.rebuild(reload=["twotower_assets.partitions", "twotower_assets.ingest"])
            yield g
        # Leave the modules as the rest of the session expects them (no MPD folder).
    for name in ("twotower_assets.partitions", "twotower_assets.ingest"):
        importlib.reload(importlib.import_module(name))
