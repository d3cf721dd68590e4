"""Candidate embeddings and the exact nearest-neighbour index over them.

`embed_candidates` runs the saved candidate tower over the candidate shards once; the result is
written as Parquet (track_uri, embedding list<float32>) and as a FAISS IndexFlatIP (inner product
= cosine, both towers are L2-normalized). `CandidateIndex.search` is what evaluation and
`twotower recommend` call. No approximate index: ScaNN cannot import beside TensorFlow 2.21.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EMBEDDINGS_FOLDER = "embeddings"
PARQUET_FILE = "candidate_embeddings.parquet"
INDEX_FILE = "index.faiss"


@dataclass(frozen=True)
class CandidateEmbeddings:
    track_uris: np.ndarray  # object array of str, one per catalogue track
    vectors: np.ndarray  # float32 [n, dim]
    seconds: float

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])


def embed_candidates(
    candidate_tower_path: str, shard_paths: list[str], batch_size: int = 4096
) -> CandidateEmbeddings:
    """Embed every candidate example of `shard_paths` once with the saved candidate tower."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES
    from twotower_assets.pipelines.trainer import read_examples

    if not shard_paths:
        raise FileNotFoundError("no candidate shards to embed")
    tower = tf.saved_model.load(candidate_tower_path)
    serve = tower.signatures["serving_default"]
    wanted = list(serve.structured_input_signature[1])
    started = time.perf_counter()
    uris: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    # history_length is irrelevant for candidates (all scalars).
    for batch in read_examples(shard_paths, CANDIDATE_FEATURES, 1, batch_size):
        output = serve(**{name: batch[name] for name in wanted})["embedding"]
        uris.append(batch["track_uri_can"].numpy().astype(object))
        vectors.append(output.numpy().astype(np.float32))
    track_uris = np.array([u.decode("utf-8") for u in np.concatenate(uris)], dtype=object)
    return CandidateEmbeddings(
        track_uris, np.ascontiguousarray(np.concatenate(vectors)), time.perf_counter() - started
    )


def write_embeddings(embeddings: CandidateEmbeddings, folder: str) -> dict[str, str]:
    """Write the Parquet file and the FAISS index into `folder` (local or gs://)."""
    import faiss

    dim = embeddings.dimension
    table = pa.table(
        {
            "track_uri": pa.array(embeddings.track_uris.tolist(), pa.string()),
            "embedding": pa.ListArray.from_arrays(
                pa.array(np.arange(0, (len(embeddings.vectors) + 1) * dim, dim, dtype=np.int32)),
                pa.array(embeddings.vectors.reshape(-1), pa.float32()),
            ),
        }
    )
    parquet_path = f"{folder.rstrip('/')}/{PARQUET_FILE}"
    index_path = f"{folder.rstrip('/')}/{INDEX_FILE}"
    with fsspec.open(parquet_path, "wb") as handle:
        pq.write_table(table, handle)
    index = faiss.IndexFlatIP(dim)
    index.add(embeddings.vectors)
    # faiss writes only local files: write locally, then copy (works for gs:// too).
    with tempfile.TemporaryDirectory() as scratch:
        local = os.path.join(scratch, INDEX_FILE)
        faiss.write_index(index, local)
        with open(local, "rb") as source, fsspec.open(index_path, "wb") as target:
            target.write(source.read())
    return {"parquet": parquet_path, "index": index_path}


def read_embeddings(folder: str) -> CandidateEmbeddings:
    with fsspec.open(f"{folder.rstrip('/')}/{PARQUET_FILE}", "rb") as handle:
        table = pq.read_table(handle)
    uris = np.array(table.column("track_uri").to_pylist(), dtype=object)
    flat = table.column("embedding").combine_chunks()
    values = flat.values.to_numpy(zero_copy_only=False).astype(np.float32)
    return CandidateEmbeddings(uris, values.reshape(len(uris), -1), 0.0)


class CandidateIndex:
    """The exact inner-product index plus the track URI of every row."""

    def __init__(self, index: object, track_uris: np.ndarray) -> None:
        self.index = index
        self.track_uris = track_uris

    @classmethod
    def load(cls, folder: str) -> CandidateIndex:
        """Read `index.faiss` and the URIs of `candidate_embeddings.parquet` from `folder`."""
        import faiss

        with fsspec.open(f"{folder.rstrip('/')}/{PARQUET_FILE}", "rb") as handle:
            uris = np.array(
                pq.read_table(handle, columns=["track_uri"]).column(0).to_pylist(), dtype=object
            )
        with tempfile.TemporaryDirectory() as scratch:
            local = os.path.join(scratch, INDEX_FILE)
            source_path = f"{folder.rstrip('/')}/{INDEX_FILE}"
            with fsspec.open(source_path, "rb") as source, open(local, "wb") as target:
                target.write(source.read())
            index = faiss.read_index(local)
        if index.ntotal != len(uris):
            raise ValueError(
                f"{folder}: index has {index.ntotal} vectors but the Parquet file {len(uris)} ids"
            )
        return cls(index, uris)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (scores [n, k] float32, track URIs [n, k]) for float32 queries [n, dim]."""
        return search(self.index, self.track_uris, queries, k)


def search(
    index: object, track_uris: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-`k` by inner product; URIs of missing neighbours (k > catalogue) are ''."""
    queries = np.ascontiguousarray(np.asarray(queries, dtype=np.float32))
    if queries.ndim != 2 or queries.shape[1] != index.d:  # type: ignore[attr-defined]
        raise ValueError(
            f"queries must be [n, {index.d}] float32, got shape {queries.shape}"  # type: ignore[attr-defined]
        )
    scores, rows = index.search(queries, k)  # type: ignore[attr-defined]
    padded = np.append(track_uris, "")
    return scores, padded[np.where(rows < 0, len(track_uris), rows)]
