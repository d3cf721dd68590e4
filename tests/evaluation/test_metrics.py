"""The challenge metrics on hand-computed cases, and the batch form against the reference form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twotower_assets.evaluation_logic import metrics


def _log2(x: float) -> float:
    return math.log2(x)


def test_r_precision_counts_hits_among_the_first_g() -> None:
    # G = {a, b, c}; first 3 = [a, x, b] -> 2 hits; c at rank 4 does not count.
    assert metrics.r_precision(["a", "b", "c"], ["a", "x", "b", "c"]) == pytest.approx(2 / 3)


def test_r_precision_no_hit_is_zero() -> None:
    assert metrics.r_precision(["a"], ["x", "y"]) == 0.0


def test_r_precision_duplicates_count_once() -> None:
    # First 2 = [a, a]: one distinct hit of G = {a, b}.
    assert metrics.r_precision(["a", "b"], ["a", "a", "b"]) == pytest.approx(0.5)


def test_r_precision_with_more_hidden_than_500() -> None:
    hidden = [f"t{i}" for i in range(600)]
    recommended = hidden[:500]  # all 500 relevant, but 100 hidden tracks can never be reached
    assert metrics.r_precision(hidden, recommended) == pytest.approx(500 / 600)


def test_r_precision_artist_gives_quarter_credit() -> None:
    artist_of = {"a": "A1", "b": "A2", "x": "A2", "y": "A3"}
    # G = {a, b} (artists A1, A2); first 2 = [a, x]: one track hit (a), artists {A1, A2} both match.
    value = metrics.r_precision_artist(["a", "b"], ["a", "x"], artist_of)
    assert value == pytest.approx((1 + 0.25 * 2) / 2)
    # Only an artist match: [x, y] -> artists {A2, A3}, A2 matches.
    assert metrics.r_precision_artist(["a", "b"], ["x", "y"], artist_of) == pytest.approx(0.125)


def test_ndcg_hand_computed() -> None:
    # G = {a, b}; R = [x, a, y, b]: DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3).
    expected = (1 / _log2(3) + 1 / _log2(5)) / (1 + 1 / _log2(3))
    assert metrics.ndcg(["a", "b"], ["x", "a", "y", "b"]) == pytest.approx(expected)


def test_ndcg_dedupes_after_truncation() -> None:
    # R = [a, a, b]: deduplicated to [a, b] -> perfect list.
    assert metrics.ndcg(["a", "b"], ["a", "a", "b"]) == pytest.approx(1.0)
    # Truncation first: with k=2, [a, a | b] keeps only [a]; b is cut before the dedupe.
    assert metrics.ndcg(["a", "b"], ["a", "a", "b"], k=2) == pytest.approx(1 / (1 + 1 / _log2(3)))


def test_ndcg_ideal_is_capped_at_500() -> None:
    hidden = [f"t{i}" for i in range(600)]
    assert metrics.ndcg(hidden, hidden[:500]) == pytest.approx(1.0)
    assert metrics.ndcg(["a"], ["x"] * 500) == 0.0


def test_clicks() -> None:
    recommended = [f"x{i}" for i in range(500)]
    assert metrics.clicks(["x0"], recommended) == 0.0
    assert metrics.clicks(["x9"], recommended) == 0.0  # rank 10 -> (10 - 1) // 10 = 0
    assert metrics.clicks(["x10"], recommended) == 1.0  # rank 11 -> 1
    assert metrics.clicks(["x499"], recommended) == 49.0
    assert metrics.clicks(["nope"], recommended) == 51.0
    # A relevant track beyond the 500 does not count.
    assert metrics.clicks(["late"], [*recommended, "late"]) == 51.0


def test_recall_at_k() -> None:
    assert metrics.recall_at_k("b", ["a", "b"], 1) == 0.0
    assert metrics.recall_at_k("b", ["a", "b"], 2) == 1.0


def test_batch_matches_hand_computed_cases() -> None:
    # ids: a=0, b=1, c=2, x=3, y=4; artists: a->0, b->1, c->1, x->1, y->2
    track_artist = np.array([0, 1, 1, 1, 2])
    recommended = np.array(
        [
            [3, 0, 4, 1, -1],  # G={a,b}: ndcg (1/log2 3 + 1/log2 5)/(1 + 1/log2 3)
            [0, 0, 1, 3, 4],  # G={a,b}: duplicates
            [3, 4, 3, 4, 3],  # G={c}: no hit
        ]
    )
    hidden = [[0, 1], [0, 1], [2]]
    offsets = np.array([0, 2, 4, 5])
    scores = metrics.score_continuations(recommended, offsets, np.concatenate(hidden), track_artist)
    assert scores.r_precision == pytest.approx([0.5, 0.5, 0.0])
    # Row 0: first 2 = [x, a]: 1 hit; artists {1, 0} vs G_A {0, 1}: 2 matches.
    # Row 1: first 2 = [a, a]: 1 hit; artists {0} match. Row 2: [x] has c's artist 1.
    assert scores.r_precision_artist == pytest.approx([(1 + 0.5) / 2, (1 + 0.25) / 2, 0.25])
    assert scores.ndcg[0] == pytest.approx((1 / _log2(3) + 1 / _log2(5)) / (1 + 1 / _log2(3)))
    assert scores.ndcg[1] == pytest.approx(1.0)
    assert scores.ndcg[2] == 0.0
    assert scores.clicks.tolist() == [0.0, 0.0, 1.0]  # no hit with k=5 -> 5 // 10 + 1 = 1


def test_batch_names_the_playlist_without_hidden_tracks() -> None:
    with pytest.raises(ValueError, match="playlist 42"):
        metrics.score_continuations(
            np.array([[0, 1]]),
            np.array([0, 0]),
            np.array([], dtype=np.int64),
            np.array([0, 0]),
            row_labels=[42],
        )


def test_batch_equals_reference_on_random_lists() -> None:
    rng = np.random.default_rng(7)
    n_tracks, n_rows, k = 60, 200, 40
    track_artist = rng.integers(0, 12, size=n_tracks)
    recommended = rng.integers(0, n_tracks, size=(n_rows, k))  # duplicates on purpose
    recommended[rng.random((n_rows, k)) < 0.05] = -1
    recommended = np.sort(recommended, axis=1)[:, ::-1].copy()  # -1 padding at the end
    rng.shuffle(recommended[:, :20].T)
    hidden = [rng.choice(n_tracks, size=rng.integers(1, 70), replace=True) for _ in range(n_rows)]
    offsets = np.concatenate([[0], np.cumsum([h.size for h in hidden])])
    batch = metrics.score_continuations(recommended, offsets, np.concatenate(hidden), track_artist)
    artist_of = dict(enumerate(track_artist.tolist()))
    for i in range(n_rows):
        recs = [int(t) for t in recommended[i] if t >= 0]
        g = hidden[i].tolist()
        assert batch.r_precision[i] == pytest.approx(metrics.r_precision(g, recs, k))
        assert batch.r_precision_artist[i] == pytest.approx(
            metrics.r_precision_artist(g, recs, artist_of, k)
        )
        assert batch.ndcg[i] == pytest.approx(metrics.ndcg(g, recs, k))
        assert batch.clicks[i] == metrics.clicks(g, recs, k)


def test_recall_at_ks_batch() -> None:
    recommended = np.tile(np.arange(500), (3, 1))
    targets = np.array([5, 60, 999])
    recall = metrics.recall_at_ks(recommended, targets)
    assert recall[10].tolist() == [1.0, 0.0, 0.0]
    assert recall[100].tolist() == [1.0, 1.0, 0.0]
    assert recall[500].tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="recall@500 needs 500"):
        metrics.recall_at_ks(recommended[:, :100], targets)
