"""Warehouse build benchmark: every warehouse table for generated samples of 10k and 100k playlists.

Generates the MPD sample (twotower_assets.mpd.generate), ingests it with the ingest's own table
builder into a fresh DuckDB file (default memory limit 4GB, spilling to disk), then builds
tracks, training_pairs and the holdout tables, printing rows, seconds and peak process memory
per table, and the per-playlist cost ratio between the sizes.

    .venv/bin/python benchmarks/warehouse_benchmark.py [--sizes 10000 100000] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from resources import DatasetSettings, DuckDBWarehouse
from twotower_assets.mpd.generate import generate_mpd
from twotower_assets.mpd.read import list_slice_files
from twotower_assets.mpd.tables import slice_tables
from twotower_assets.sql import BUILT_TABLES, build_table, load_enrichment, pair_batches


class PeakMemory:
    """Samples this process's RSS every 20 ms while active (DuckDB runs in-process)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_size(playlists: int, work: Path, dataset: DatasetSettings, keep: bool) -> dict[str, float]:
    folder = work / f"size_{playlists}"
    warehouse = DuckDBWarehouse(database=str(folder / "warehouse.duckdb"))
    if keep and warehouse.table_exists("playlist_tracks"):
        print(f"[{playlists}] reusing the ingested sample in {folder}", flush=True)
    else:
        ingest_sample(playlists, folder, warehouse)
    flags = load_enrichment(warehouse, None)
    params = {
        "history_length": dataset.history_length,
        "valid_modulus": dataset.valid_modulus,
        **flags,
    }
    seconds: dict[str, float] = {}
    # CPU seconds (all DuckDB threads of this process) beside wall seconds: on a shared
    # machine wall time mostly measures the neighbours.
    print(f"{'table':<20}{'rows':>12}{'seconds':>10}{'cpu s':>10}{'peak MB':>10}")
    process = psutil.Process()
    for name in BUILT_TABLES:
        cpu_before = sum(process.cpu_times()[:2])
        with PeakMemory() as memory:
            batches = pair_batches(warehouse) if name == "training_pairs" else 1
            built = build_table(warehouse, name, params, pid_batches=batches)
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        seconds[name] = built.seconds
        print(
            f"{name:<20}{built.rows:>12}{built.seconds:>10.1f}{cpu:>10.1f}"
            f"{memory.peak / 2**20:>10.0f}",
            flush=True,
        )
    total = sum(seconds.values())
    print(f"[{playlists}] all tables: {total:.1f} s, {total / playlists * 1e3:.3f} ms per playlist")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return seconds


def ingest_sample(playlists: int, folder: Path, warehouse: DuckDBWarehouse) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    generate_mpd(folder / "mpd", playlists, seed=1)
    print(f"[{playlists}] generated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    for path in list_slice_files(str(folder / "mpd")):
        key = Path(path).name.removeprefix("mpd.slice.").removesuffix(".json")
        tables = slice_tables(key, path)
        warehouse.replace_rows("playlists", "slice", key, tables.playlists)
        warehouse.replace_rows("playlist_tracks", "slice", key, tables.playlist_tracks)
    tracks_in = warehouse.row_count("playlist_tracks")
    print(
        f"[{playlists}] ingested {tracks_in} playlist tracks in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--keep", action="store_true", help="keep (and reuse) the ingested samples under --work"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="warehouse_benchmark_"))
    dataset = DatasetSettings()
    results = {size: run_size(size, work, dataset, args.keep) for size in args.sizes}
    if len(results) >= 2:
        small, large = min(results), max(results)
        per_small = sum(results[small].values()) / small
        per_large = sum(results[large].values()) / large
        print(
            f"per-playlist cost {large} vs {small}: {per_large / per_small:.2f}x (target <= 1.2x)"
        )


if __name__ == "__main__":
    main()
