"""The main job and the check gate, as plain functions behind `twotower run` / `twotower checks`.

`run_main_job` does what a person would do on a fresh machine: generate a sample when no MPD is
configured, ingest every present slice partition, materialize the rest of the graph with the
Dagster CLI into a persistent instance under $TWOTOWER_HOME (so `dagster dev` shows the runs
afterwards), gate on the asset checks, and print the evaluation. `check_gate` reads the latest
asset check results from the instance: there is no `dagster asset check` command in Dagster 1.13.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

DEFINITIONS_MODULE = "twotower_assets.definitions"

_DAGSTER_YAML = """\
# Written by `twotower run`. Runs launch straight into subprocesses (no daemon needed), and the
# warehouse pool lets one DuckDB-writing step run at a time across concurrent runs.
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home(home: Path) -> Path:
    """$DAGSTER_HOME when set, else `<TWOTOWER_HOME>/dagster` with our dagster.yaml."""
    configured = os.environ.get("DAGSTER_HOME")
    path = Path(configured) if configured else home / "dagster"
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML, encoding="utf-8")
    if not (path / "history").exists():  # where the SQLite run storage lives
        # Create the instance's SQLite storage once, up front: several runs started at the
        # same moment on a fresh home would otherwise race to create the same tables.
        import dagster as dg

        with dg.DagsterInstance.from_config(str(path)):
            pass
    return path


def contiguous_ranges(keys: Sequence[str]) -> list[tuple[str, str]]:
    """Group slice keys ("0-999", "1000-1999", ...) into runs of consecutive slices."""
    ranges: list[tuple[str, str]] = []
    for key in keys:
        start, end = (int(part) for part in key.split("-"))
        if ranges and int(ranges[-1][1].split("-")[1]) + 1 == start:
            ranges[-1] = (ranges[-1][0], key)
        else:
            ranges.append((key, key))
    return ranges


def _dagster(args: Sequence[str], env: dict[str, str]) -> bool:
    """Run one `dagster` CLI command; True when it succeeded."""
    command = [str(Path(sys.executable).parent / "dagster"), *args]
    print("$ " + " ".join(command), flush=True)
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0:
        print(f"dagster exited with {completed.returncode}: {' '.join(args)}", flush=True)
    return completed.returncode == 0


def run_main_job(playlists: int, seed: int) -> int:
    from resources.settings import mpd_dir, twotower_home

    home = twotower_home()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TWOTOWER_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home(home)),
        "TF_USE_LEGACY_KERAS": "1",
    }
    source = mpd_dir()
    env["TWOTOWER_MPD_DIR"] = source
    started = time.monotonic()

    from resources.mpd_source import MpdSource

    if not os.environ.get("TWOTOWER_MPD_DIR") and not MpdSource(directory=source).present_keys():
        from twotower_assets.mpd.generate import generate_mpd

        print(f"No TWOTOWER_MPD_DIR: generating {playlists:,} playlists into {source}", flush=True)
        generate_mpd(source, playlists=playlists, seed=seed)

    keys = MpdSource(directory=source).present_keys()
    if not keys:
        raise SystemExit(f"no mpd.slice.*.json files in {source}")
    print(f"{len(keys)} slice file(s) in {source}", flush=True)
    for first, last in contiguous_ranges(keys):
        partition = (
            ["--partition", first] if first == last else ["--partition-range", f"{first}...{last}"]
        )
        _dagster(
            ["asset", "materialize", "-m", DEFINITIONS_MODULE, "--select", "playlists", *partition],
            env,
        )
    _dagster(
        ["asset", "materialize", "-m", DEFINITIONS_MODULE, "--select", "not key:playlists"], env
    )

    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    failures = check_gate()
    print_evaluation()
    print(
        f"\nMain job finished in {time.monotonic() - started:,.0f} s; "
        f"`DAGSTER_HOME={env['DAGSTER_HOME']} dagster dev` shows its runs.",
        flush=True,
    )
    return 1 if failures else 0


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    status: str  # passed | failed | warning | not run
    blocking: bool
    description: str


def collect_check_outcomes(
    defs: dg.Definitions | None = None, instance: dg.DagsterInstance | None = None
) -> list[CheckOutcome]:
    """The latest result of every asset check of `defs` (default: ours) in the instance."""
    import dagster as dg
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    if defs is None:
        from twotower_assets.definitions import defs

    asset_graph = defs.resolve_asset_graph()
    check_keys = sorted(asset_graph.asset_check_keys, key=lambda key: key.to_user_string())
    if instance is None:
        with dg.DagsterInstance.get() as owned:
            latest = owned.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    else:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    outcomes = []
    for key in check_keys:
        spec = asset_graph.get_check_spec(key)
        record = latest.get(key)
        evaluation = record.evaluation if record is not None else None
        if record is None or record.status == AssetCheckExecutionRecordStatus.PLANNED:
            status, text = "not run", "no completed evaluation (the step errored or was skipped)"
        elif evaluation is not None and evaluation.passed:
            status, text = "passed", evaluation.description or ""
        else:
            severity = (
                evaluation.severity if evaluation is not None else dg.AssetCheckSeverity.ERROR
            )
            status = "warning" if severity == dg.AssetCheckSeverity.WARN else "failed"
            text = (evaluation.description or "") if evaluation is not None else ""
        outcomes.append(
            CheckOutcome(key.asset_key.to_user_string(), key.name, status, spec.blocking, text)
        )
    return outcomes


def check_gate(
    defs: dg.Definitions | None = None, instance: dg.DagsterInstance | None = None
) -> list[CheckOutcome]:
    """Print every check's latest outcome; return those that must fail CI."""
    outcomes = collect_check_outcomes(defs, instance)
    print("\nAsset checks:", flush=True)
    for outcome in outcomes:
        mark = {"passed": "ok  ", "warning": "WARN", "failed": "FAIL", "not run": "MISS"}[
            outcome.status
        ]
        blocking = "blocking" if outcome.blocking else "        "
        line = f"  {mark} {blocking} {outcome.asset}:{outcome.check}"
        if outcome.status != "passed" and outcome.description:
            line += f"  - {outcome.description}"
        print(line, flush=True)
    failures = [o for o in outcomes if o.status in ("failed", "not run")]
    warnings = [o for o in outcomes if o.status == "warning"]
    print(
        f"{len(outcomes)} checks: {len(outcomes) - len(failures) - len(warnings)} passed, "
        f"{len(warnings)} warning(s), {len(failures)} failed or not run",
        flush=True,
    )
    return failures


def print_evaluation() -> None:
    """Print the model-versus-baselines table from the warehouse, when it exists."""
    from resources import build_resources

    warehouse = build_resources()["warehouse"]
    if not warehouse.table_exists("retrieval_metrics"):
        print("\n(no retrieval_metrics table yet)", flush=True)
        return
    table = warehouse.query(
        f"SELECT model, metric, category, value FROM {warehouse.table_ref('retrieval_metrics')}"
    )
    from twotower_assets.evaluation_logic.report import format_comparison

    held_out = warehouse.row_count("holdout_playlists")
    print(f"\nHeld-out playlists: {held_out:,} (challenge-style continuation, 500 per playlist)")
    print(format_comparison(table), flush=True)
