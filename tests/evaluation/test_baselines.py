"""Baselines and query features on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from twotower_assets.evaluation_logic.baselines import (
    CooccurrenceRecommender,
    PopularityRecommender,
    TitlePopularity,
    normalize_title,
    take_excluding,
)
from twotower_assets.evaluation_logic.ragged import Ragged
from twotower_assets.evaluation_logic.two_tower import holdout_query_features

# Training playlists over tracks 0..4: track 0 in 3 playlists, 1 in 2, 2 in 2, 3 in 1, 4 in 0.
PLAYLISTS = Ragged.from_lists([[0, 1], [0, 2, 3], [0, 1, 2, 2]])


def test_popularity_excludes_seeds_and_counts_each_playlist_once() -> None:
    model = PopularityRecommender.from_playlists(PLAYLISTS, 5)
    assert model.order.tolist() == [0, 1, 2, 3, 4]  # ties (1, 2) broken by id
    recs = model.recommend(Ragged.from_lists([[], [0, 2]]), k=3)
    assert recs.tolist() == [[0, 1, 2], [1, 3, 4]]


def test_take_excluding_pads_when_candidates_run_out() -> None:
    out = take_excluding(np.array([[5, 6, -1]]), Ragged.from_lists([[6]]), k=3)
    assert out.tolist() == [[5, -1, -1]]


def test_cooccurrence_scores_by_hand() -> None:
    model = CooccurrenceRecommender(PLAYLISTS, 5, exponent=0.5)
    tracks, score = model.scores(np.array([1]))
    # Seed 1 (pop 2) is in playlists 0 and 2: co(1,0)=2, co(1,2)=1, co(1,1)=2.
    expected = {0: 2 / np.sqrt(2 * 3), 1: 2 / np.sqrt(2 * 2), 2: 1 / np.sqrt(2 * 2)}
    assert dict(zip(tracks.tolist(), score.tolist(), strict=True)) == pytest.approx(expected)
    recs = model.recommend(Ragged.from_lists([[1]]), k=4)
    # Seed excluded; 0 then 2 by score, then popularity fills (3, 4).
    assert recs.tolist() == [[0, 2, 3, 4]]


def test_cooccurrence_without_seeds_uses_the_title_then_popularity() -> None:
    track_pop = np.array([3, 2, 2, 1, 0])
    titles = TitlePopularity.build(["Rock", "chill", "ROCK!"], PLAYLISTS, track_pop, k=10)
    model = CooccurrenceRecommender(PLAYLISTS, 5, titles=titles)
    recs = model.recommend(Ragged.from_lists([[], []]), k=5, titles=["rock", "unknown"])
    # "rock" playlists 0 and 2: 0 and 1 twice, 2 once; then popularity fills 3, 4.
    assert recs.tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    assert titles.tracks_for("Rock ").tolist() == [0, 1, 2]
    assert normalize_title("  Chill  Vibes!! ") == "chill vibes"


def test_title_popularity_counts_playlists_not_occurrences() -> None:
    playlists = Ragged.from_lists([[4, 4, 4], [3], [3]])
    titles = TitlePopularity.build(
        ["rock", "Rock", "jazz"], playlists, np.array([0, 0, 0, 5, 1]), 10
    )
    # Within "rock", 4 and 3 are each in one playlist; the tie goes to the more popular 3.
    assert titles.tracks_for("ROCK").tolist() == [3, 4]
    assert titles.tracks_for("").size == 0


def test_holdout_query_features_match_the_pair_definitions() -> None:
    playlists = pa.table({"pid": [10, 20], "name": ["road trip", ""]})
    seeds = pa.table(
        {
            "pid": [10, 10, 10],
            "pos": [0, 1, 2],
            "track_uri": ["a", "b", "c"],
            "track_name": ["A", "B", "C"],
            "artist_uri": ["x", "x", "y"],
            "artist_name": ["X", "X", "Y"],
            "album_uri": ["m", "n", "n"],
            "album_name": ["M", "N", "N"],
            "artist_genres": [None, "pop", "pop"],
            "duration_ms": [100, 200, 300],
            "track_pop": [1.0, 2.0, 3.0],
            "artist_pop": [5.0, 5.0, 6.0],
            "artist_followers": [0.0, 0.0, 0.0],
        }
    )
    features = holdout_query_features(playlists, seeds, history_length=2)
    assert features["n_songs_pl"].tolist() == [3.0, 0.0]
    assert features["num_artists_pl"].tolist() == [2.0, 0.0]
    assert features["num_albums_pl"].tolist() == [2.0, 0.0]
    assert features["duration_ms_seed_pl"].tolist() == [600.0, 0.0]
    history = features["track_uri_pl"]
    assert (
        history.row(0).tolist() == ["b", "c"] and history.row(1).size == 0
    )  # last N, oldest first
    assert features["track_pop_pl"].row(0).tolist() == [2.0, 3.0]
    assert features["name"].tolist() == ["road trip", ""]
    padded = features["track_uri_pl"].padded(3, "")
    assert padded.tolist() == [["b", "c", ""], ["", "", ""]]


def _reference_cooccurrence(
    playlists: list[list[int]], n_tracks: int, seeds: list[list[int]], k: int, exponent: float
) -> list[list[tuple[int, float]]]:
    """The definition, one row and one playlist at a time: (track, score) ranked, then padded
    with popularity (score 0); seeds excluded; ties by popularity, then id."""
    sets = [set(playlist) for playlist in playlists]
    pop = [sum(track in tracks for tracks in sets) for track in range(n_tracks)]
    by_pop = sorted(range(n_tracks), key=lambda track: (-pop[track], track))
    answers = []
    for own in seeds:
        score: dict[int, float] = {}
        for tracks in sets:
            for seed in set(own) & tracks:
                for track in tracks:
                    score[track] = score.get(track, 0.0) + pop[seed] ** -exponent
        ranked = sorted(
            (
                (track, value * pop[track] ** -exponent)
                for track, value in score.items()
                if track not in own
            ),
            key=lambda item: (-item[1], -pop[item[0]], item[0]),
        )[:k]
        taken = {track for track, _ in ranked} | set(own)
        ranked += [(track, 0.0) for track in by_pop if track not in taken][: k - len(ranked)]
        answers.append(ranked)
    return answers


def _random_case(seed: int) -> tuple[list[list[int]], list[list[int]]]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 61) ** 0.8  # a popularity skew, so scores tie and differ
    weights /= weights.sum()
    playlists = [
        rng.choice(60, size=int(rng.integers(1, 12)), p=weights).tolist() for _ in range(80)
    ]  # repeats inside a playlist on purpose
    seeds = [rng.choice(60, size=size, p=weights).tolist() for size in rng.integers(0, 8, 40)]
    return playlists, seeds


@pytest.mark.parametrize("route_cost", [0, 10**9], ids=["sparse-route", "dense-route"])
@pytest.mark.parametrize("case", range(3))
def test_cooccurrence_matches_the_definition_on_random_data(
    case: int, route_cost: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twotower_assets.evaluation_logic import baselines

    monkeypatch.setattr(baselines, "_SPARSE_TERM_COST", route_cost)
    playlists, seeds = _random_case(case)
    k = 9  # shorter than most candidate lists: the cut falls inside ties
    # exponent 0: integer scores, exact ties, so the ranking must match exactly.
    model = CooccurrenceRecommender(Ragged.from_lists(playlists), 60, exponent=0.0)
    model.max_batch_rows = 4  # several batches of mixed rows
    got = model.recommend(Ragged.from_lists(seeds), k)
    expected = _reference_cooccurrence(playlists, 60, seeds, k, exponent=0.0)
    assert got.tolist() == [[track for track, _ in row] for row in expected]

    # exponent 0.5: irrational scores; the scores at each rank must match the definition's.
    model = CooccurrenceRecommender(Ragged.from_lists(playlists), 60, exponent=0.5)
    model.max_batch_rows = 3
    got = model.recommend(Ragged.from_lists(seeds), k)
    expected = _reference_cooccurrence(playlists, 60, seeds, k, exponent=0.5)
    reference = _reference_cooccurrence(playlists, 60, seeds, 60, exponent=0.5)
    for row, own in enumerate(seeds):
        full = dict(reference[row])
        assert len(set(got[row].tolist())) == k and not set(got[row].tolist()) & set(own)
        assert [full.get(track, 0.0) for track in got[row]] == pytest.approx(
            [value for _, value in expected[row]], rel=1e-5
        ), f"row {row} seeds {own}"


def test_cooccurrence_scores_match_the_definition() -> None:
    playlists, seeds = _random_case(7)
    model = CooccurrenceRecommender(Ragged.from_lists(playlists), 60, exponent=0.5)
    own = seeds[3] or [0]
    tracks, score = model.scores(np.array(own))
    sets = [set(playlist) for playlist in playlists]
    pop = {track: sum(track in tracks_ for tracks_ in sets) for track in range(60)}
    expected = {}
    for playlist in sets:
        for seed in set(own) & playlist:
            for track in playlist:
                expected[track] = expected.get(track, 0.0) + (pop[seed] * pop[track]) ** -0.5
    assert dict(zip(tracks.tolist(), score.tolist(), strict=True)) == pytest.approx(expected)
