"""Towers built from the spec and the vocabulary: inputs, sharing, masking, normalization."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.model.synthetic import SyntheticSample
from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, ID_FEATURES, QUERY_FEATURES
from twotower_assets.pipelines.towers import Vocabulary, build_towers
from twotower_assets.pipelines.trainer import ModelParameters, model_features, read_examples

SMALL = ModelParameters(embedding_dim=8, hidden_layers=[16], output_dim=8)


def _batch(sample: SyntheticSample, size: int = 16) -> dict[str, tf.Tensor]:
    paths = sorted(str(p) for p in (sample.root / "tfrecords" / "train").glob("part-*"))
    return next(iter(read_examples(paths, model_features(), 5, size)))


def test_query_tower_reads_query_features_only(synthetic_sample: SyntheticSample) -> None:
    query, candidate = build_towers(
        Vocabulary.load(str(synthetic_sample.root / "vocabulary")), SMALL
    )
    forbidden = {f.name for f in CANDIDATE_FEATURES + ID_FEATURES}
    assert set(query.feature_names) == {f.name for f in QUERY_FEATURES}
    assert not set(query.feature_names) & forbidden
    assert set(candidate.feature_names) == {f.name for f in CANDIDATE_FEATURES}
    # Given only query features, the query tower computes; it has no way to reach the label.
    batch = _batch(synthetic_sample)
    only_query = {name: batch[name] for name in query.feature_names}
    embeddings = query(only_query).numpy()
    assert embeddings.shape == (16, SMALL.output_dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    with pytest.raises(KeyError, match="track_uri_can"):
        candidate(only_query)


def test_history_ids_share_tables_with_candidate_ids(synthetic_sample: SyntheticSample) -> None:
    vocabulary = Vocabulary.load(str(synthetic_sample.root / "vocabulary"))
    query, candidate = build_towers(vocabulary, SMALL)
    assert query.embedding_track_uri_pl is candidate.embedding_track_uri_can
    assert query.embedding_artist_name_pl is candidate.embedding_artist_name_can
    rows = query.embedding_track_uri_pl.input_dim
    assert rows == len(vocabulary.values["track_uri"]) + 2  # + mask + out-of-vocabulary
    unshared = ModelParameters(**{**SMALL.model_dump(), "share_embeddings": False})
    query, candidate = build_towers(vocabulary, unshared)
    assert query.embedding_track_uri_pl is not candidate.embedding_track_uri_can


def test_padding_does_not_change_the_query_embedding(synthetic_sample: SyntheticSample) -> None:
    query, _ = build_towers(Vocabulary.load(str(synthetic_sample.root / "vocabulary")), SMALL)
    batch = {name: tensor for name, tensor in _batch(synthetic_sample, 8).items()}
    wider = dict(batch)
    for feature in QUERY_FEATURES:
        if feature.shape == "var_len":
            pad = "" if feature.dtype == "string" else float("nan")
            extra = tf.fill([8, 3], tf.constant(pad, batch[feature.name].dtype))
            wider[feature.name] = tf.concat([batch[feature.name], extra], axis=1)
    np.testing.assert_allclose(query(batch).numpy(), query(wider).numpy(), atol=1e-5)


def test_missing_statistics_name_the_feature(synthetic_sample: SyntheticSample, tmp_path) -> None:
    import shutil

    folder = tmp_path / "vocabulary"
    shutil.copytree(synthetic_sample.root / "vocabulary", folder)
    manifest = json.loads((folder / "vocabulary.json").read_text())
    del manifest["statistics"]["track_pop_can"]
    (folder / "vocabulary.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="track_pop_can"):
        build_towers(Vocabulary.load(str(folder)), SMALL)


def test_title_normalization_matches_the_vocabulary_rule() -> None:
    from twotower_assets.pipelines.towers import normalize_title
    from twotower_assets.pipelines.vocabulary import title_tokens

    titles = ["Chill-Vibes!! 2019", "  ROCK & roll ☀ ", "café, été", "workout💪mix", ""]
    tokens = tf.strings.split(normalize_title(tf.constant(titles))).to_list()
    assert [[t.decode() for t in row] for row in tokens] == [title_tokens(t) for t in titles]
