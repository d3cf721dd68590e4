"""Baselines on the evaluation's inputs: most popular, item co-occurrence, title popularity.

All three learn from the TRAINING playlists only (track ids over the catalogue) and answer with
ranked track ids, seeds excluded, so the metrics treat them exactly like the two-tower model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from twotower_assets.evaluation_logic.ragged import Ragged

_NON_WORD = re.compile(r"[^\w]+")
# Relative cost of one term of a sparse x sparse product against one of sparse x dense.
_SPARSE_TERM_COST = 8


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


def _row_ids(matrix: sparse.csr_array) -> np.ndarray:
    """The row of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


@dataclass
class CooccurrenceRecommender:
    """Item-kNN over the training playlists: score(t) = Σ_s co(s, t) / (pop(s)·pop(t))^exponent.

    co(s, t) counts training playlists holding both the seed s and t; `exponent` 0.5 is the
    cosine normalization (popular tracks neither dominate nor vanish). Without seeds it answers
    with the title's popular tracks (same normalized title in training) and then popularity.

    Scores come as sparse products, batch by batch of rows: q = seeds·w @ Pᵀ weighs every
    training playlist by the seeds it holds, then q @ P sums those weights per track (P is the
    deduplicated playlist x track indicator). No item x item matrix is ever built.
    """

    playlists: Ragged
    n_tracks: int
    exponent: float = 0.5
    titles: TitlePopularity | None = None
    # Dense score rows per batch: rows x catalogue float32 cells at most (128 MiB).
    batch_cells: int = 1 << 25
    max_batch_rows: int = 64

    def __post_init__(self) -> None:
        n_playlists = self.playlists.rows
        # A track twice in one playlist counts once: dedupe (playlist, track) keys first.
        keys = np.unique(
            self.playlists.row_ids().astype(np.int64) * self.n_tracks + self.playlists.values
        )
        rows, tracks = keys // self.n_tracks, keys % self.n_tracks
        ones = np.ones(keys.size, dtype=np.float32)
        shape = (n_playlists, self.n_tracks)
        self.playlist_tracks = sparse.csr_array((ones, (rows, tracks)), shape=shape)
        self.track_playlists = self.playlist_tracks.T.tocsr()
        self.track_pop = np.diff(self.track_playlists.indptr).astype(np.float64)
        self.playlist_length = np.diff(self.playlist_tracks.indptr).astype(np.int64)
        self.popularity = PopularityRecommender(popularity_order(self.track_pop))
        known = self.track_pop > 0
        # pop^-exponent, 0 for tracks no training playlist holds (they co-occur with nothing).
        self.weight = np.zeros(self.n_tracks, dtype=np.float64)
        self.weight[known] = self.track_pop[known] ** -self.exponent

    def _seed_matrix(self, seeds: Ragged) -> sparse.csr_array:
        """rows x tracks: pop(s)^-exponent at every distinct seed s that training knows."""
        values = seeds.values.astype(np.int64)
        row = seeds.row_ids().astype(np.int64)
        valid = (values >= 0) & (values < self.n_tracks)
        keys = np.unique(row[valid] * self.n_tracks + values[valid])
        row, track = keys // self.n_tracks, keys % self.n_tracks
        keep = self.track_pop[track] > 0
        row, track = row[keep], track[keep]
        return sparse.csr_array(
            (self.weight[track].astype(np.float32), (row, track)),
            shape=(seeds.rows, self.n_tracks),
        )

    def _batch_scores(self, seed_weights: sparse.csr_array) -> sparse.csr_array | np.ndarray:
        """Scores of one batch, before seed exclusion: sparse or dense, whichever is cheaper.

        Both routes add a row's terms in ascending playlist order, so its scores do not depend
        on the batch it lands in.
        """
        via = seed_weights @ self.track_playlists  # rows x training playlists
        mark = np.zeros(via.shape[1], dtype=bool)
        mark[via.indices] = True
        reached = np.flatnonzero(mark)
        sparse_cost = int(self.playlist_length[via.indices].sum())
        dense_cost = via.shape[0] * int(self.playlist_length[reached].sum())
        # A sparse-sparse product costs several times a dense one per term (scattered adds,
        # index bookkeeping): go dense once the batch reaches a large share of the playlists.
        if sparse_cost * _SPARSE_TERM_COST < dense_cost:
            via.sort_indices()
            return via @ self.playlist_tracks
        return via[:, reached].toarray() @ self.playlist_tracks[reached]

    def _rank(
        self, row: np.ndarray, track: np.ndarray, score: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k best of each row's (row, track, score) candidates, sorted by row: by score,
        then popularity, then id. Returns (row, track, rank)."""
        # Cut each row to its candidates at or above its k-th best score first (ties at the
        # boundary stay, so the sort below, not the cut, decides them).
        counts = np.bincount(row, minlength=int(row.max(initial=-1)) + 1)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        if counts.max(initial=0) > k:
            padded = np.full((counts.size, int(counts.max())), -np.inf, dtype=score.dtype)
            padded[row, np.arange(row.size) - starts[row]] = score
            kth = padded.shape[1] - k
            threshold = np.partition(padded, kth, axis=1)[:, kth]
            keep = score >= threshold[row]
            row, track, score = row[keep], track[keep], score[keep]
        order = np.lexsort((track, -self.track_pop[track], -score, row))
        row, track = row[order], track[order]
        rank = np.arange(row.size) - np.searchsorted(row, row, side="left")
        keep = rank < k
        return row[keep], track[keep], rank[keep]

    def _top_k(
        self, scores: sparse.csr_array | np.ndarray, seed_keys: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, track, rank) of each row's k best co-occurring non-seed tracks."""
        scale = self.weight.astype(np.float32)
        if isinstance(scores, np.ndarray):
            scores *= scale
            seed_row, seed_track = np.divmod(seed_keys, self.n_tracks)
            scores[seed_row, seed_track] = 0.0
            # A cheap lower bound of each row's k-th best: the k-th best of every stride-th
            # column (a subset cannot beat the whole row). It leaves about 8k candidates a row.
            stride = max(1, scores.shape[1] // (8 * k))
            sample = scores[:, ::stride]
            floor = np.zeros(scores.shape[0], dtype=scores.dtype)
            if sample.shape[1] > k:
                kth = sample.shape[1] - k
                floor = np.partition(sample, kth, axis=1)[:, kth]
            row, track = np.nonzero((scores >= floor[:, None]) & (scores > 0))
            score = scores[row, track]
        else:
            coo = scores.tocoo()  # row-major: rows stay sorted
            row, track = coo.row.astype(np.int64), coo.col.astype(np.int64)
            score = coo.data * scale[track]
            keep = (score > 0) & ~np.isin(row * self.n_tracks + track, seed_keys)
            row, track, score = row[keep], track[keep], score[keep]
        return self._rank(row.astype(np.int64), track.astype(np.int64), score, k)

    def scores(self, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(track ids, scores) of every track co-occurring with at least one seed (seeds too)."""
        seeds = np.asarray(seeds, dtype=np.int64)
        batch = self._batch_scores(self._seed_matrix(Ragged(np.array([0, seeds.size]), seeds)))
        row = np.asarray(batch.toarray() if not isinstance(batch, np.ndarray) else batch)[0]
        row = row * self.weight
        tracks = np.flatnonzero(row > 0)
        return tracks, row[tracks]

    def recommend(self, seeds: Ragged, k: int, titles: Sequence[str] | None = None) -> np.ndarray:
        """[rows, k] ranked ids: co-occurrence, then title popularity, then popularity."""
        n = seeds.rows
        out = np.full((n, k), -1, dtype=np.int64)
        found = np.zeros(n, dtype=np.int64)
        seed_weights = self._seed_matrix(seeds)
        # Rows by how many playlists their seeds reach, so one batch holds alike rows (few
        # reached playlists stay on the cheap sparse route); rows without known seeds skip.
        reach = np.bincount(
            _row_ids(seed_weights), self.track_pop[seed_weights.indices], minlength=n
        )
        rows = np.flatnonzero(reach > 0)
        rows = rows[np.argsort(reach[rows], kind="stable")]
        batch = max(1, min(self.max_batch_rows, self.batch_cells // max(self.n_tracks, 1)))
        for start in range(0, rows.size, batch):
            chosen = rows[start : start + batch]
            weights = seed_weights[chosen]
            seed_keys = _row_ids(weights) * self.n_tracks + weights.indices
            row, track, rank = self._top_k(self._batch_scores(weights), seed_keys, k)
            out[chosen[row], rank] = track
            found[chosen] = np.bincount(row, minlength=chosen.size)
        for row in np.flatnonzero(found < k):
            out[row] = self._fill(out[row, : found[row]], seeds.row(row), k, titles, row)
        return out

    def _fill(
        self,
        ranked: np.ndarray,
        own: np.ndarray,
        k: int,
        titles: Sequence[str] | None,
        row: int,
    ) -> np.ndarray:
        """A short row completed with the title's tracks (no seeds at all), then popularity."""
        if own.size == 0 and titles is not None and self.titles:
            by_title = self.titles.tracks_for(titles[row])
            ranked = np.concatenate([ranked, by_title[~np.isin(by_title, ranked)]])
        if ranked.size < k:
            rest = self.popularity.order[: k + own.size + ranked.size]
            rest = rest[~np.isin(rest, ranked) & ~np.isin(rest, own)]
            ranked = np.concatenate([ranked, rest])
        ranked = ranked[:k]
        return np.pad(ranked, (0, k - ranked.size), constant_values=-1)
