"""Benchmark: generation speed and ingest throughput vs DuckDB's plain read_json (prints figures).

Usage: .venv/bin/python benchmarks/mpd_benchmark.py [--playlists 20000] [--dir /tmp/mpd_bench]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import duckdb

from resources import DuckDBWarehouse
from twotower_assets.ingest import TABLES, _tables_in_order
from twotower_assets.mpd.generate import generate_mpd
from twotower_assets.mpd.read import SliceKey, list_slice_files


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--playlists", type=int, default=20_000)
    parser.add_argument("--dir", default="/tmp/mpd_bench")
    args = parser.parse_args()
    root = Path(args.dir)
    shutil.rmtree(root, ignore_errors=True)

    started = time.perf_counter()
    summary = generate_mpd(root / "mpd", args.playlists, seed=0)
    seconds = time.perf_counter() - started
    print(
        f"generate: {summary.playlists} playlists, {summary.tracks} tracks in {seconds:.1f} s "
        f"= {summary.playlists / seconds:,.0f} playlists/s"
    )

    # One worker on a smaller sample: the per-core speed, whatever the machine's core count.
    started = time.perf_counter()
    single = generate_mpd(root / "mpd_one_worker", min(5_000, args.playlists), seed=0, workers=1)
    seconds = time.perf_counter() - started
    print(
        f"generate (1 worker): {single.playlists} playlists in {seconds:.1f} s "
        f"= {single.playlists / seconds:,.0f} playlists/s per core"
    )
    shutil.rmtree(root / "mpd_one_worker")

    paths = list_slice_files(str(root / "mpd"))
    keys = [SliceKey.from_file_name(path).key for path in paths]
    size_mb = sum(Path(path).stat().st_size for path in paths) / 1e6
    warehouse = DuckDBWarehouse(database=str(root / "warehouse.duckdb"))
    started = time.perf_counter()
    accepted = tracks = 0
    for key, tables in zip(keys, _tables_in_order(keys, paths), strict=True):
        if isinstance(tables, Exception):
            raise tables
        for table in TABLES:
            warehouse.replace_rows(table, "slice", key, getattr(tables, table))
        accepted += tables.accepted
        tracks += tables.tracks
    seconds = time.perf_counter() - started
    own, children = _peak_mb()
    print(
        f"ingest (validate + 3 tables into DuckDB): {accepted} playlists, {tracks} tracks, "
        f"{size_mb:.0f} MB in {seconds:.1f} s = {accepted / seconds:,.0f} playlists/s, "
        f"{tracks / seconds:,.0f} tracks/s, {size_mb / seconds:.0f} MB/s; peak RSS "
        f"{own:.0f} MB (parent), {children:.0f} MB (largest worker)"
    )

    started = time.perf_counter()
    with duckdb.connect(str(root / "plain.duckdb")) as connection:
        connection.execute(
            "CREATE TABLE plain_tracks AS "
            "SELECT pl.pid AS pid, unnest(pl.tracks, recursive := true) FROM ("
            f"SELECT unnest(playlists) AS pl FROM read_json('{root / 'mpd'}/mpd.slice.*.json', "
            "maximum_object_size = 200000000))"
        )
        rows = connection.execute("SELECT COUNT(*) FROM plain_tracks").fetchone()[0]
    seconds = time.perf_counter() - started
    print(
        f"duckdb read_json + unnest (no validation): {rows} tracks in {seconds:.1f} s = "
        f"{summary.playlists / seconds:,.0f} playlists/s, {rows / seconds:,.0f} tracks/s"
    )


if __name__ == "__main__":
    main()
