"""Baselines on the evaluation's inputs: most popular, item co-occurrence, title popularity.

All three learn from the TRAINING playlists only (track ids over the catalogue) and answer with
ranked track ids, seeds excluded, so the metrics treat them exactly like the two-tower model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twotower_assets.evaluation_logic.ragged import Ragged

_NON_WORD = re.compile(r"[^\w]+")


def normalize_title(title: str | None) -> str:
    """Lower case, punctuation to spaces, single spaces: 'Chill  Vibes!!' -> 'chill vibes'."""
    return " ".join(_NON_WORD.sub(" ", (title or "").lower()).split())


def popularity_order(track_pop: np.ndarray) -> np.ndarray:
    """Track ids, most popular first; ties broken by id so the order is reproducible."""
    track_pop = np.asarray(track_pop)
    return np.lexsort((np.arange(track_pop.size), -track_pop.astype(np.float64)))


def take_excluding(candidates: np.ndarray, exclude: Ragged, k: int) -> np.ndarray:
    """First k candidates of every row that are not in that row's `exclude` list (-1 padding)."""
    candidates = np.asarray(candidates, dtype=np.int64)
    n, width = candidates.shape
    if exclude.rows != n:
        raise ValueError(f"{exclude.rows} exclusion rows for {n} candidate rows")
    span = np.int64(max(int(candidates.max(initial=0)), int(exclude.values.max(initial=0))) + 1)
    row = np.arange(n, dtype=np.int64)[:, None]
    excluded_keys = exclude.row_ids().astype(np.int64) * span + exclude.values.astype(np.int64)
    dropped = (candidates < 0) | np.isin(row * span + candidates, excluded_keys)
    order = np.argsort(dropped, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(candidates, order, axis=1)
    kept[np.take_along_axis(dropped, order, axis=1)] = -1
    if kept.shape[1] < k:
        kept = np.pad(kept, ((0, 0), (0, k - kept.shape[1])), constant_values=-1)
    return kept


@dataclass(frozen=True)
class PopularityRecommender:
    """The most popular tracks of the training playlists, the same list for everyone."""

    order: np.ndarray

    @classmethod
    def from_playlists(cls, playlists: Ragged, n_tracks: int) -> PopularityRecommender:
        return cls(popularity_order(playlist_counts(playlists, n_tracks)))

    def recommend(self, exclude: Ragged, k: int) -> np.ndarray:
        longest = int(exclude.lengths.max(initial=0))
        head = self.order[: k + longest]
        return take_excluding(np.broadcast_to(head, (exclude.rows, head.size)), exclude, k)


def playlist_counts(playlists: Ragged, n_tracks: int) -> np.ndarray:
    """Training playlists containing each track (a track twice in one playlist counts once)."""
    keys = np.unique(playlists.row_ids().astype(np.int64) * n_tracks + playlists.values)
    return np.bincount(keys % n_tracks, minlength=n_tracks)


@dataclass(frozen=True)
class TitlePopularity:
    """For each normalized title, the tracks of training playlists with that title, by count."""

    codes: dict[str, int]
    ranked: Ragged

    @classmethod
    def build(
        cls, titles: Sequence[str], playlists: Ragged, track_pop: np.ndarray, k: int
    ) -> TitlePopularity:
        normalized = [normalize_title(title) for title in titles]
        codes: dict[str, int] = {}
        title_code = np.fromiter(
            (codes.setdefault(title, len(codes)) for title in normalized),
            dtype=np.int64,
            count=len(normalized),
        )
        n_tracks = int(track_pop.size)
        # A track twice in one playlist counts once: dedupe (playlist, track) first.
        playlist_keys = np.unique(
            playlists.row_ids().astype(np.int64) * n_tracks + playlists.values
        )
        keys = title_code[playlist_keys // n_tracks] * n_tracks + playlist_keys % n_tracks
        pair_keys, counts = np.unique(keys, return_counts=True)
        title_of, track_of = pair_keys // n_tracks, pair_keys % n_tracks
        order = np.lexsort((track_of, -track_pop[track_of], -counts, title_of))
        title_of, track_of = title_of[order], track_of[order]
        # Keep the k best per title.
        starts = np.searchsorted(title_of, np.arange(len(codes)))
        keep = (np.arange(title_of.size) - starts[title_of]) < k
        return cls(codes, Ragged.from_sorted_groups(title_of[keep], track_of[keep], len(codes)))

    def tracks_for(self, title: str) -> np.ndarray:
        code = self.codes.get(normalize_title(title))
        if code is None or not normalize_title(title):
            return np.zeros(0, dtype=np.int64)
        return self.ranked.row(code)


@dataclass
class CooccurrenceRecommender:
    """Item-kNN over the training playlists: score(t) = Σ_s co(s, t) / (pop(s)·pop(t))^exponent.

    co(s, t) counts training playlists holding both the seed s and t; `exponent` 0.5 is the
    cosine normalization (popular tracks neither dominate nor vanish). Without seeds it answers
    with the title's popular tracks (same normalized title in training) and then popularity.
    """

    playlists: Ragged
    n_tracks: int
    exponent: float = 0.5
    titles: TitlePopularity | None = None

    def __post_init__(self) -> None:
        # Deduplicate each playlist's tracks, then invert: track -> training playlists.
        keys = np.unique(
            self.playlists.row_ids().astype(np.int64) * self.n_tracks + self.playlists.values
        )
        rows, tracks = keys // self.n_tracks, keys % self.n_tracks
        self.playlists = Ragged.from_sorted_groups(rows, tracks, self.playlists.rows)
        order = np.argsort(tracks, kind="stable")
        self.track_playlists = Ragged.from_sorted_groups(tracks[order], rows[order], self.n_tracks)
        self.track_pop = self.track_playlists.lengths.astype(np.float64)
        self.popularity = PopularityRecommender(popularity_order(self.track_pop))

    def scores(self, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(track ids, scores) of every track co-occurring with at least one seed."""
        seeds = np.unique(seeds[seeds >= 0])
        seeds = seeds[self.track_pop[seeds] > 0]
        if seeds.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        via = self.track_playlists.select(seeds)
        seed_weight = self.track_pop[seeds] ** -self.exponent
        path_weight = np.repeat(seed_weight, via.lengths)
        reached = self.playlists.select(via.values)
        weights = np.repeat(path_weight, reached.lengths)
        tracks, inverse = np.unique(reached.values, return_inverse=True)
        score = np.bincount(inverse, weights) / self.track_pop[tracks] ** self.exponent
        return tracks, score

    def recommend(self, seeds: Ragged, k: int, titles: Sequence[str] | None = None) -> np.ndarray:
        """[rows, k] ranked ids: co-occurrence, then title popularity, then popularity."""
        fallback = self.popularity.recommend(seeds, k + int(seeds.lengths.max(initial=0)))
        out = np.full((seeds.rows, k), -1, dtype=np.int64)
        for row in range(seeds.rows):
            own = seeds.row(row)
            tracks, score = self.scores(own)
            keep = ~np.isin(tracks, own)
            tracks, score = tracks[keep], score[keep]
            if tracks.size > k:
                top = np.argpartition(-score, k - 1)[:k]
                tracks, score = tracks[top], score[top]
            ranked = tracks[np.lexsort((tracks, -self.track_pop[tracks], -score))]
            if ranked.size < k and own.size == 0 and titles is not None and self.titles:
                by_title = self.titles.tracks_for(titles[row])
                ranked = np.concatenate([ranked, by_title[~np.isin(by_title, ranked)]])
            if ranked.size < k:
                rest = fallback[row]
                ranked = np.concatenate([ranked, rest[(rest >= 0) & ~np.isin(rest, ranked)]])
            ranked = ranked[:k]
            out[row, : ranked.size] = ranked
        return out
