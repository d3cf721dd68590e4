"""Model benchmark: training examples/s at the default configuration on a generated sample,
candidate-embedding throughput (tracks/s) and exact-index query throughput (top-500).

Run: `.venv/bin/python benchmarks/model_benchmark.py [--playlists 4000] [--index-vectors 1000000]`
Prints one JSON object. The sample is synthetic (themed playlists written straight as TFRecords).
The machine is shared: the load average is recorded before and after, and training is also
reported per CPU-second of this process (less sensitive to other load than wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--playlists", type=int, default=4000)
    parser.add_argument("--playlist-length", type=int, default=40)
    parser.add_argument("--tracks-per-theme", type=int, default=2500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--index-vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()

    import faiss

    from tests.model.synthetic import write_sample
    from twotower_assets.pipelines.embeddings import embed_candidates
    from twotower_assets.pipelines.trainer import TrainingParameters, shard_paths, train

    report: dict[str, object] = {
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        sample = write_sample(
            root,
            playlists=args.playlists,
            themes=8,
            tracks_per_theme=args.tracks_per_theme,
            playlist_length=args.playlist_length,
            valid_modulus=50,
            shards=4,
        )
        report["sample"] = {
            "train_pairs": sample.train_pairs,
            "tracks": len(sample.tracks),
            "generate_seconds": round(time.perf_counter() - started, 1),
        }
        parameters = TrainingParameters(epochs=args.epochs)
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        result = train(str(root), parameters)
        cpu_seconds = _cpu_seconds() - cpu_started
        trained = sum(e["examples"] for e in result.history)
        report["training"] = {
            "parameters": parameters.model_dump(),
            "wall_seconds": round(time.perf_counter() - started, 1),
            # Whole train() call: preprocessing, tracing, validation and saving included.
            "cpu_seconds": round(cpu_seconds, 1),
            "examples_per_cpu_second": round(trained / cpu_seconds),
            "preprocess_seconds": sum(e.get("preprocess_seconds", 0.0) for e in result.history),
            "per_epoch": [
                {k: e[k] for k in ("epoch", "loss", "val_loss", "examples_per_second", "seconds")}
                for e in result.history
            ],
            # Steady state: the best epoch (the first includes graph tracing and cache filling).
            "examples_per_second": max(e["examples_per_second"] for e in result.history),
        }
        embeddings = embed_candidates(
            f"{root}/model/candidate_tower", shard_paths(str(root), "candidates")
        )
        report["embedding"] = {
            "tracks": len(embeddings.track_uris),
            "tracks_per_second": round(len(embeddings.track_uris) / embeddings.seconds),
        }

    rng = np.random.default_rng(0)
    dim = parameters.output_dim
    vectors = rng.normal(size=(args.index_vectors, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    queries = vectors[rng.choice(args.index_vectors, args.queries, replace=False)]
    started = time.perf_counter()
    index.search(queries, 500)
    seconds = time.perf_counter() - started
    report["index"] = {
        "type": "faiss.IndexFlatIP",
        "vectors": args.index_vectors,
        "dimension": dim,
        "k": 500,
        "queries_per_second": round(args.queries / seconds, 1),
    }
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
