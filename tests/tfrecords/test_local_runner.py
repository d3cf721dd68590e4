"""The local runner: pinned to the FnApiRunner (never Prism, which downloads a binary), no
network attempt while writing shards, and worker processes only when the input earns them."""

from __future__ import annotations

import sys
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability import prism_runner

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import create_tables  # noqa: E402

from resources.beam import DirectBeamRunner  # noqa: E402
from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES  # noqa: E402
from twotower_assets.pipelines.tfrecord_pipeline import (  # noqa: E402
    ShardSettings,
    plan_row_groups,
    write_tfrecords,
)


@pytest.fixture
def prism_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and refuses) any attempt to run a pipeline on Prism."""
    calls: list[str] = []

    def refuse(self: object, pipeline: object, options: object) -> None:
        calls.append("PrismRunner.run_pipeline")
        raise RuntimeError("Prism refused by the test")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", refuse)
    return calls


def test_unpinned_direct_runner_would_try_prism(prism_calls: list[str]) -> None:
    """The control: `--runner=DirectRunner` goes to Prism first (then falls back)."""
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"])) as pipeline:
        _ = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x + 1)
    assert prism_calls == ["PrismRunner.run_pipeline"]


@pytest.mark.slow  # two worker processes each import Beam: 10-30 s on a shared 2-core box
def test_local_shards_make_no_network_attempt(
    network_attempts: list[str], prism_calls: list[str], tmp_path: Path
) -> None:
    connection = duckdb.connect()
    create_tables(connection, pairs=400, catalogue=31, modulus=10)
    columns = ", ".join(f.name for f in TRAINING_FEATURES)
    parquet = tmp_path / "pairs.parquet"
    # Four row groups, so both worker processes get work (DuckDB's row groups are >= 2048).
    table = connection.sql(f"SELECT {columns} FROM training_pairs").to_arrow_table()
    pq.write_table(table, parquet, row_group_size=100)
    units = plan_row_groups([str(parquet)])
    assert sum(unit[2] for unit in units) == 400 and len(units) == 4
    runner = DirectBeamRunner(num_workers=2, rows_per_process=0)
    args = runner.pipeline_args("local-test", rows=400)
    assert "--runner=FnApiRunner" in args and "--direct_running_mode=multi_processing" in args
    result = write_tfrecords(
        [str(parquet)], ShardSettings(str(tmp_path / "out"), TRAINING_FEATURES), args
    )
    assert network_attempts == [], network_attempts
    assert prism_calls == []
    assert "fn_api_runner" in type(result.pipeline_result).__module__
    assert result.records == 400
    shards = result.manifest["shards"]
    assert sum(shard["records"] for shard in shards) == 400
    # A shard closes at the end of each bundle: two shards = the work was split over the two
    # worker processes (one process would have written all 400 rows into one shard).
    assert len(shards) == 2, shards


def test_worker_processes_follow_the_input_size() -> None:
    runner = DirectBeamRunner(num_workers=2, rows_per_process=400_000)
    small = runner.pipeline_args("j", rows=50_000)
    assert "--direct_running_mode=in_memory" in small and "--direct_num_workers=1" in small
    large = runner.pipeline_args("j", rows=5_000_000)
    assert "--direct_running_mode=multi_processing" in large
    assert "--direct_num_workers=2" in large  # never more than configured
    assert "--direct_num_workers=2" in runner.pipeline_args("j")  # size unknown: every worker
    assert all(not arg.startswith("--runner=DirectRunner") for arg in large)
