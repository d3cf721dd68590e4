"""Candidate embeddings, their Parquet file and the exact FAISS index."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.model.conftest import TrainedSample
from twotower_assets.pipelines.embeddings import (
    CandidateIndex,
    embed_candidates,
    read_embeddings,
    write_embeddings,
)
from twotower_assets.pipelines.trainer import shard_paths


def test_every_track_embedded_once_and_index_is_exact(trained: TrainedSample, tmp_path) -> None:
    embeddings = embed_candidates(
        f"{trained.root}/model/candidate_tower", shard_paths(trained.root, "candidates"), 16
    )
    expected = sorted(t.uri for t in trained.sample.tracks)
    assert sorted(embeddings.track_uris.tolist()) == expected
    assert embeddings.vectors.dtype == np.float32
    assert embeddings.dimension == trained.parameters.output_dim
    np.testing.assert_allclose(np.linalg.norm(embeddings.vectors, axis=1), 1.0, atol=1e-4)

    paths = write_embeddings(embeddings, str(tmp_path))
    table = pq.read_table(paths["parquet"])
    assert table.schema.field("track_uri").type == "string"
    embedding_type = table.schema.field("embedding").type
    assert pa.types.is_list(embedding_type) and embedding_type.value_type == pa.float32()
    assert table.column("track_uri").to_pylist()[0].startswith("spotify:track:")
    again = read_embeddings(str(tmp_path))
    np.testing.assert_array_equal(again.vectors, embeddings.vectors)

    index = CandidateIndex.load(str(tmp_path))
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(7, embeddings.dimension)).astype(np.float32)
    scores, uris = index.search(queries, 5)
    brute = queries @ embeddings.vectors.T
    best = np.argsort(-brute, axis=1)[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(brute, best, axis=1), rtol=1e-4)
    assert (uris == embeddings.track_uris[best]).all()
    # Asking for more than the catalogue pads with '' rather than inventing ids.
    _, everything = index.search(queries[:1], len(expected) + 3)
    assert everything[0, -3:].tolist() == ["", "", ""]


def test_query_dimension_mismatch_is_named(trained: TrainedSample, tmp_path) -> None:
    embeddings = embed_candidates(
        f"{trained.root}/model/candidate_tower", shard_paths(trained.root, "candidates")
    )
    write_embeddings(embeddings, str(tmp_path))
    index = CandidateIndex.load(str(tmp_path))
    with pytest.raises(ValueError, match=f"\\[n, {embeddings.dimension}\\]"):
        index.search(np.zeros((1, embeddings.dimension + 1), np.float32), 3)
