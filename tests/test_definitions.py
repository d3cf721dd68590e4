"""The Definitions load (in process and through both CLI targets) and have the promised shape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The asset graph of docs/architecture.md: asset -> (group, upstream assets).
EXPECTED_GRAPH = {
    "playlists": ("ingest", set()),
    "tracks": ("warehouse", {"playlists"}),
    "training_pairs": ("warehouse", {"playlists", "tracks"}),
    "holdout_playlists": ("warehouse", {"playlists"}),
    "holdout_seeds": ("warehouse", {"holdout_playlists"}),
    "holdout_hidden": ("warehouse", {"holdout_playlists"}),
    "train_tfrecords": ("tfrecords", {"training_pairs"}),
    "valid_tfrecords": ("tfrecords", {"training_pairs"}),
    "candidate_tfrecords": ("tfrecords", {"tracks"}),
    "vocabulary": ("features", {"training_pairs", "tracks"}),
    "two_tower_model": (
        "model",
        {"train_tfrecords", "valid_tfrecords", "candidate_tfrecords", "vocabulary"},
    ),
    "candidate_embeddings": ("serving", {"two_tower_model", "candidate_tfrecords"}),
}


@pytest.fixture(autouse=True)
def _empty_mpd_dir(twotower_env: Path) -> None:
    """Every test here sees an isolated home with no slice file."""


def _asset_graph():
    import importlib

    import twotower_assets.definitions as definitions
    import twotower_assets.ingest as ingest
    import twotower_assets.partitions as partitions

    importlib.reload(partitions)
    importlib.reload(ingest)
    return importlib.reload(definitions).defs.resolve_asset_graph()


def test_every_expected_asset_is_in_its_group_with_true_lineage() -> None:
    graph = _asset_graph()
    found = {key.to_user_string(): graph.get(key) for key in graph.materializable_asset_keys}
    for name, (group, parents) in EXPECTED_GRAPH.items():
        assert name in found, f"asset {name} is missing from the definitions"
        node = found[name]
        assert node.group_name == group, f"{name}: group {node.group_name}, expected {group}"
        actual = {parent.to_user_string() for parent in node.parent_keys}
        assert parents <= actual, f"{name}: upstream {sorted(actual)} lacks {sorted(parents)}"
    assert "retrieval_metrics" in found
    assert found["retrieval_metrics"].group_name == "evaluation"


def test_every_asset_has_a_code_version_and_a_check() -> None:
    graph = _asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.code_version, f"{key.to_user_string()} has no code_version"
        assert key in checked, f"{key.to_user_string()} has no asset check"


def test_only_the_ingest_asset_is_partitioned_by_slice() -> None:
    graph = _asset_graph()
    partitioned = {
        key.to_user_string()
        for key in graph.materializable_asset_keys
        if graph.get(key).partitions_def is not None
    }
    assert partitioned == {"playlists"}
    node = graph.get(next(k for k in graph.materializable_asset_keys if k.path == ["playlists"]))
    partition_keys = node.partitions_def.get_partition_keys()
    # No slice file in the test's TWOTOWER_MPD_DIR: the 1,000 canonical keys of the full MPD.
    assert partition_keys[:2] == ["0-999", "1000-1999"] and len(partition_keys) == 1000


def test_partitions_are_the_slice_files_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twotower_assets.partitions import present_slice_keys

    monkeypatch.setenv("TWOTOWER_MPD_DIR", str(tmp_path))
    for key in ("2000-2999", "0-999", "10000-10999"):
        (tmp_path / f"mpd.slice.{key}.json").write_text("{}")
    (tmp_path / "md5sums").write_text("")
    assert present_slice_keys() == ["0-999", "2000-2999", "10000-10999"]


@pytest.mark.parametrize(
    "target", [[], ["-w", "workspace.yaml"], ["-m", "twotower_assets.definitions"]]
)
def test_dagster_definitions_validate(target: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "TWOTOWER_HOME": str(tmp_path / "h")}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", *target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful for code location twotower" in completed.stderr + completed.stdout
