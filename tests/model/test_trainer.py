"""The trainer entry point: resume after an interruption, atomic publish, SavedModels, quality."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.model.conftest import TINY, TrainedSample, copy_sample, theme_of
from tests.model.synthetic import SyntheticSample
from twotower_assets.pipelines.feature_spec import QUERY_FEATURES
from twotower_assets.pipelines.trainer import train


def _query(title: str, history: list, history_length: int = 5) -> dict[str, tf.Tensor]:
    """Raw query features for one playlist, as a caller outside the trainer builds them."""
    from twotower_assets.recommend import query_features

    seeds = [
        {
            "track_uri": t.uri,
            "track_name": t.name,
            "artist_uri": t.artist_uri,
            "artist_name": t.artist_name,
            "album_uri": t.album_uri,
            "album_name": t.album_name,
            "artist_genres": "NONE",
            "duration_ms": t.duration_ms,
            "track_pop": 1.0,
            "artist_pop": 1.0,
            "artist_followers": 0.0,
        }
        for t in history
    ]
    return query_features(title, seeds, history_length)


@pytest.mark.slow
def test_interrupted_run_resumes_at_the_next_epoch(
    synthetic_sample: SyntheticSample, tmp_path: Path
) -> None:
    root = copy_sample(synthetic_sample, tmp_path)
    parameters = TINY.model_copy(update={"epochs": 2})
    first = train(str(root), parameters, stop_after_epoch=1)
    assert not first.completed
    assert [e["epoch"] for e in first.history] == [1]
    assert not (root / "model").exists(), "an interrupted run must not publish model/"
    assert (root / "model.staging" / "checkpoints" / "checkpoint").exists()

    second = train(str(root), parameters)
    assert second.completed and second.resumed_from_epoch == 1
    assert [e["epoch"] for e in second.history] == [1, 2]
    assert second.history[0] == first.history[0]
    written = json.loads((root / "model" / "history.json").read_text())
    assert [e["epoch"] for e in written] == [1, 2]
    assert all(math.isfinite(e["loss"]) and e["examples"] > 0 for e in written)
    for folder in ("query_tower", "candidate_tower", "checkpoints", "logs"):
        assert (root / "model" / folder).exists(), folder
    assert not (root / "model.staging").exists()

    # A later run that dies before publishing leaves the previous model complete and loadable.
    changed = parameters.model_copy(update={"epochs": 3, "learning_rate": 0.02})
    interrupted = train(str(root), changed, stop_after_epoch=1)
    assert not interrupted.completed and interrupted.resumed_from_epoch == 0
    assert json.loads((root / "model" / "history.json").read_text()) == written
    tf.saved_model.load(str(root / "model" / "query_tower"))


def test_saved_towers_take_raw_features(trained: TrainedSample) -> None:
    query = tf.saved_model.load(f"{trained.root}/model/query_tower")
    signature = query.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    assert set(inputs) == {f.name for f in QUERY_FEATURES}
    rock = [t for t in trained.sample.tracks if theme_of(t.uri) == 1][:3]
    features = _query("rock mix", rock)
    output = signature(**{n: tf.constant(features[n], spec.dtype) for n, spec in inputs.items()})
    embedding = output["embedding"].numpy()
    assert embedding.shape == (1, trained.parameters.output_dim)
    assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-4


def test_training_learns_the_playlist_themes(trained: TrainedSample) -> None:
    """Queries of one theme retrieve that theme's tracks far above the 1-in-4 chance rate."""
    from twotower_assets.pipelines.embeddings import embed_candidates
    from twotower_assets.pipelines.trainer import shard_paths

    losses = [e["loss"] for e in trained.history]
    assert losses[-1] < losses[0]
    candidates = embed_candidates(
        f"{trained.root}/model/candidate_tower", shard_paths(trained.root, "candidates")
    )
    query = tf.saved_model.load(f"{trained.root}/model/query_tower")
    signature = query.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    hits = Counter()
    for theme, word in enumerate(("chill", "rock", "party", "country")):
        history = [t for t in trained.sample.tracks if theme_of(t.uri) == theme][5:8]
        features = _query(f"{word} mix", history)
        vector = signature(
            **{n: tf.constant(features[n], spec.dtype) for n, spec in inputs.items()}
        )["embedding"].numpy()[0]
        top = np.argsort(-candidates.vectors @ vector)[:10]
        hits[theme] = sum(theme_of(candidates.track_uris[i]) == theme for i in top)
    assert sum(hits.values()) / 40 >= 0.8, hits
