"""Times the evaluation of 10,000 synthetic held-out playlists: baselines, metrics, retrieval.

Run: `.venv/bin/python benchmarks/evaluation_benchmark.py [--playlists 10000] [--tracks 100000]`.
Co-occurrence scores are sparse products in batches (scipy). The two-tower step times the
retrieval path (exact FAISS top-k over the catalogue + seed
exclusion) with random 64-d query embeddings standing in for the query tower's output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from twotower_assets.evaluation_logic.baselines import (
    CooccurrenceRecommender,
    PopularityRecommender,
    popularity_order,
)
from twotower_assets.evaluation_logic.metrics import recall_at_ks, score_continuations
from twotower_assets.evaluation_logic.ragged import Ragged
from twotower_assets.evaluation_logic.two_tower import TwoTowerRetriever

SEED_COUNTS = (0, 1, 5, 5, 10, 10, 25, 25, 100, 100)  # the challenge's ten categories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--playlists", type=int, default=10_000)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--training-playlists", type=int, default=50_000)
    parser.add_argument("--dimension", type=int, default=64)
    parser.add_argument("--skip-cooccurrence", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    zipf = 1.0 / np.arange(1, args.tracks + 1) ** 0.9
    zipf /= zipf.sum()

    def draw(lengths: np.ndarray) -> Ragged:
        return Ragged(
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            rng.choice(args.tracks, size=int(lengths.sum()), p=zipf),
        )

    training = draw(rng.integers(10, 120, size=args.training_playlists))
    seeds = draw(np.array([SEED_COUNTS[i % 10] for i in range(args.playlists)]))
    hidden = draw(rng.integers(5, 200, size=args.playlists))
    artists = rng.integers(0, args.tracks // 5, size=args.tracks)
    print(
        f"{args.playlists} held-out playlists ({int(seeds.lengths.sum())} seeds, "
        f"{int(hidden.lengths.sum())} hidden), {args.tracks} tracks, "
        f"{args.training_playlists} training playlists ({training.values.size} rows)"
    )

    def timed(label: str, run):  # noqa: ANN001, ANN202 - tiny local helper
        # CPU seconds too: on a shared machine the wall clock also counts others' work.
        started, cpu = time.perf_counter(), time.process_time()
        value = run()
        print(
            f"{label:<46} {time.perf_counter() - started:7.2f} s wall "
            f"{time.process_time() - cpu:7.2f} s cpu"
        )
        return value

    counts = np.bincount(training.values, minlength=args.tracks)
    popularity = PopularityRecommender(popularity_order(counts))
    cooccurrence = timed(
        "fit item co-occurrence",
        lambda: CooccurrenceRecommender(training, args.tracks, exponent=0.5),
    )
    recommended = {
        "popularity": timed(
            "popularity: 500 per playlist", lambda: popularity.recommend(seeds, 500)
        ),
    }
    if not args.skip_cooccurrence:
        recommended["cooccurrence"] = timed(
            "co-occurrence: 500 per playlist", lambda: cooccurrence.recommend(seeds, 500)
        )
    candidates = rng.normal(size=(args.tracks, args.dimension)).astype(np.float32)
    retriever = TwoTowerRetriever(
        encode=lambda features: rng.normal(size=(args.playlists, args.dimension)).astype(
            np.float32
        ),
        candidate_embeddings=candidates,
        candidate_ids=np.arange(args.tracks),
    )
    recommended["two_tower"] = timed(
        "two-tower retrieval (exact FAISS) + exclusion",
        lambda: retriever.recommend({"n_songs_pl": np.zeros(args.playlists)}, seeds, 500),
    )
    for model, recs in recommended.items():
        scores = timed(
            f"metrics: {model}",
            lambda recs=recs: score_continuations(recs, hidden.offsets, hidden.values, artists),
        )
        print(
            f"    r_precision {scores.r_precision.mean():.4f}  ndcg {scores.ndcg.mean():.4f}  "
            f"clicks {scores.clicks.mean():.2f}"
        )
    targets = rng.choice(args.tracks, size=args.playlists, p=zipf)
    recall = timed(
        "recall@K for 10,000 queries", lambda: recall_at_ks(recommended["popularity"], targets)
    )
    print(f"    popularity recall@100 {recall[100].mean():.4f}")


if __name__ == "__main__":
    main()
