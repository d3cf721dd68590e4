"""Assets of the 'ingest' group: MPD slice files -> warehouse tables, one partition per slice.

`playlists` writes `playlists`, `playlist_tracks` and `rejected_playlists` for each slice in the
run (rows of that slice replaced, never duplicated). Parsing and validation live in
`twotower_assets.mpd`; this module only loops over partitions, writes and reports.
"""

import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import dagster as dg

from resources import MpdSource, Warehouse
from twotower_assets.mpd.read import SliceFormatError, parse_document, read_bytes
from twotower_assets.mpd.tables import SliceTables, slice_tables
from twotower_assets.partitions import mpd_slices

TABLES = ("playlists", "playlist_tracks", "rejected_playlists")


def _tables_in_order(keys: list[str], paths: list[str]) -> Iterator[SliceTables | Exception]:
    """Parse slices in worker processes (two ahead at most, so memory stays bounded)."""
    workers = min(len(keys), os.cpu_count() or 1, 2)
    if workers <= 1:
        for key, path in zip(keys, paths, strict=True):
            try:
                yield slice_tables(key, path)
            except (SliceFormatError, OSError) as error:
                yield error
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future[SliceTables]] = []
        jobs = iter(zip(keys, paths, strict=True))
        for key, path in jobs:
            pending.append(pool.submit(slice_tables, key, path))
            if len(pending) > workers:
                break
        while pending:
            future = pending.pop(0)
            next_job = next(jobs, None)
            if next_job is not None:
                pending.append(pool.submit(slice_tables, *next_job))
            try:
                yield future.result()
            except (SliceFormatError, OSError) as error:
                yield error


@dg.asset(
    partitions_def=mpd_slices,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
    code_version="ingest-1",
    kinds={"duckdb", "python"},
    description="Validated MPD playlists and their tracks, one partition per slice file; "
    "also writes rejected_playlists (what failed validation, with reasons).",
)
def playlists(
    context: dg.AssetExecutionContext, mpd: MpdSource, warehouse: Warehouse
) -> dg.MaterializeResult:
    started = time.perf_counter()
    keys = list(context.partition_keys)
    paths = [mpd.slice_path(key) for key in keys]
    totals = {"accepted": 0, "rejected": 0, "tracks": 0, "playlists_in_file": 0, "warnings": 0}
    failures: list[str] = []
    for number, result in enumerate(_tables_in_order(keys, paths), 1):
        key = keys[number - 1]
        if isinstance(result, Exception):
            failures.append(f"slice {key}: {result}")
            context.log.error(f"slice {key} failed: {result}")
            continue
        # One transaction for the three tables: a crash never leaves a slice half-written.
        warehouse.replace_rows_many(
            "slice", key, {table: getattr(result, table) for table in TABLES}
        )
        for name in totals:
            totals[name] += getattr(result, name)
        context.log.info(
            f"slice {key} ({number}/{len(keys)}): {result.accepted} accepted, "
            f"{result.rejected} rejected, {result.tracks} tracks, {result.warnings} warnings, "
            f"parsed in {result.seconds:.2f} s"
        )
    if failures:
        # Good slices of a range are written; the run still fails and names each bad file.
        raise dg.Failure(
            description=f"{len(failures)} of {len(keys)} slices could not be read:\n"
            + "\n".join(failures),
            metadata={"failed_slices": len(failures)},
        )
    seconds = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "accepted": totals["accepted"],
            "rejected": totals["rejected"],
            "tracks": totals["tracks"],
            "playlists_in_file": totals["playlists_in_file"],
            "warnings": totals["warnings"],
            "slices": len(keys),
            "seconds": round(seconds, 3),
            "playlists_per_second": round(totals["playlists_in_file"] / max(seconds, 1e-9), 1),
            "source": dg.MetadataValue.path(paths[0] if len(paths) == 1 else mpd.directory),
            "warehouse": warehouse.describe(),
        }
    )


def _run_slices(context: dg.AssetCheckExecutionContext) -> list[str]:
    """The slice keys of this run (single partition or range); empty when unpartitioned."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        keys = mpd_slices.get_partition_keys()
        return keys[keys.index(start) : keys.index(end) + 1]
    return []


def _slice_counts(warehouse: Warehouse, table: str, keys: list[str]) -> dict[str, int]:
    if not keys or not warehouse.table_exists(table):
        return {}
    listed = ", ".join(f"'{key}'" for key in keys)
    result = warehouse.query(
        f"SELECT slice, COUNT(*) AS n FROM {warehouse.table_ref(table)} "
        f"WHERE slice IN ({listed}) GROUP BY slice"
    )
    return dict(zip(result.column(0).to_pylist(), result.column(1).to_pylist(), strict=True))


def _ingested_slices(warehouse: Warehouse) -> list[str]:
    if not warehouse.table_exists("playlists"):
        return []
    keys: set[str] = set()
    for table in ("playlists", "rejected_playlists"):
        if warehouse.table_exists(table):
            result = warehouse.query(f"SELECT DISTINCT slice FROM {warehouse.table_ref(table)}")
            keys.update(result.column(0).to_pylist())
    return sorted(keys, key=lambda key: int(key.split("-", 1)[0]))


@dg.asset_check(asset=playlists, blocking=True)
def playlists_reconcile_with_files(
    context: dg.AssetCheckExecutionContext, mpd: MpdSource, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """accepted + rejected rows in the warehouse == playlists in the slice file, per slice."""
    keys = _run_slices(context) or _ingested_slices(warehouse)
    accepted = _slice_counts(warehouse, "playlists", keys)
    rejected = _slice_counts(warehouse, "rejected_playlists", keys)
    mismatches = []
    for key in keys:
        in_file = len(parse_document(read_bytes(mpd.slice_path(key)), key)["playlists"])
        found = accepted.get(key, 0) + rejected.get(key, 0)
        if found != in_file:
            mismatches.append(
                f"slice {key}: file holds {in_file}, warehouse {accepted.get(key, 0)} accepted "
                f"+ {rejected.get(key, 0)} rejected = {found}"
            )
    return dg.AssetCheckResult(
        passed=not mismatches,
        description="; ".join(mismatches[:10]) or None,
        metadata={"slices_checked": len(keys), "mismatched_slices": len(mismatches)},
    )


@dg.asset_check(asset=playlists)
def rejected_playlists_count(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """How many playlists of this run's slices failed validation (a warning, not a gate)."""
    keys = _run_slices(context) or _ingested_slices(warehouse)
    rejected = _slice_counts(warehouse, "rejected_playlists", keys)
    total = sum(rejected.values())
    worst = sorted(rejected.items(), key=lambda item: -item[1])[:10]
    return dg.AssetCheckResult(
        passed=total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=", ".join(f"slice {key}: {count}" for key, count in worst) or None,
        metadata={"rejected": total, "slices_checked": len(keys)},
    )


@dg.asset_check(asset=playlists, blocking=True)
def no_pid_in_two_slices(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Every accepted pid belongs to exactly one slice across the warehouse.

    Rejected rows are left out on purpose: a pid outside its file's range is quarantined there
    with its reason and may legitimately repeat a pid of another slice.
    """
    parts = [
        f"SELECT pid, slice FROM {warehouse.table_ref(table)} WHERE pid IS NOT NULL"
        for table in ("playlists",)
        if warehouse.table_exists(table)
    ]
    if not parts:
        return dg.AssetCheckResult(passed=True, metadata={"duplicated_pids": 0})
    result = warehouse.query(
        "SELECT pid, string_agg(DISTINCT slice, ',') AS slices, COUNT(DISTINCT slice) AS n "
        f"FROM ({' UNION ALL '.join(parts)}) GROUP BY pid HAVING COUNT(DISTINCT slice) > 1 "
        "ORDER BY pid LIMIT 20"
    )
    examples = [
        f"pid {pid} in slices {slices}"
        for pid, slices in zip(
            result.column(0).to_pylist(), result.column(1).to_pylist(), strict=True
        )
    ]
    return dg.AssetCheckResult(
        passed=not examples,
        description="; ".join(examples) or None,
        metadata={"duplicated_pids_shown": len(examples)},
    )
