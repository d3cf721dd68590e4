"""RecSys Challenge 2018 metrics and next-track recall, in plain Python and numpy.

Two forms of each metric: a per-playlist reference function over lists (the definition, as in
Spotify's reference `metrics.py`, 2017-10-27) and a vectorized batch form over integer track ids
that the evaluation uses; tests hold the two equal. No Dagster, no warehouse, no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

RECOMMENDATIONS = 500
ARTIST_CREDIT = 0.25
RECALL_KS: tuple[int, ...] = (10, 50, 100, 500)


def _unique_in_order(items: Sequence[Hashable]) -> list[Hashable]:
    return list(dict.fromkeys(items))


def r_precision(
    hidden: Sequence[Hashable], recommended: Sequence[Hashable], k: int = RECOMMENDATIONS
) -> float:
    """|G ∩ R[1:|G|]| / |G| with G the distinct hidden tracks and R capped at k."""
    targets = set(hidden)
    if not targets:
        raise ValueError("r_precision is undefined without hidden tracks")
    top = set(list(recommended)[:k][: len(targets)])
    return len(top & targets) / len(targets)


def r_precision_artist(
    hidden: Sequence[Hashable],
    recommended: Sequence[Hashable],
    artist_of: dict[Hashable, Hashable],
    k: int = RECOMMENDATIONS,
) -> float:
    """(|S_T ∩ G_T| + 0.25·|S_A ∩ G_A|) / |G_T|: the final leaderboard's artist-credited form.

    S are the first |G_T| recommendations and their artists; an exact track match also counts
    its artist (the formula of Zamani et al., as the leaderboard applied it).
    """
    targets = set(hidden)
    if not targets:
        raise ValueError("r_precision_artist is undefined without hidden tracks")
    top = list(recommended)[:k][: len(targets)]
    track_hits = len(set(top) & targets)
    target_artists = {artist_of[track] for track in targets}
    top_artists = {artist_of[track] for track in top}
    return (track_hits + ARTIST_CREDIT * len(top_artists & target_artists)) / len(targets)


def dcg(
    relevant: Sequence[Hashable], recommended: Sequence[Hashable], k: int = RECOMMENDATIONS
) -> float:
    """rel_1 + Σ_{i≥2} rel_i / log2(i + 1) over R truncated at k THEN deduplicated."""
    retrieved = _unique_in_order(list(recommended)[:k])
    targets = set(relevant)
    if not retrieved or not targets:
        return 0.0
    return float(
        sum(1.0 / np.log2(rank + 1) for rank, track in enumerate(retrieved, 1) if track in targets)
    )


def ndcg(
    hidden: Sequence[Hashable], recommended: Sequence[Hashable], k: int = RECOMMENDATIONS
) -> float:
    """DCG / IDCG, IDCG being the DCG of a perfect list of min(|G|, k) tracks."""
    targets = _unique_in_order(hidden)
    if not targets:
        raise ValueError("ndcg is undefined without hidden tracks")
    ideal = dcg(targets, targets, min(k, len(targets)))
    return dcg(targets, recommended, k) / ideal


def clicks(
    hidden: Sequence[Hashable], recommended: Sequence[Hashable], k: int = RECOMMENDATIONS
) -> float:
    """Recommended Songs clicks: ⌊(rank of the first relevant track − 1) / 10⌋, else k/10 + 1.

    The rank is the position in the list capped at k, duplicates included, as the reference
    code counts it; 51 for k = 500 when no relevant track is among them.
    """
    targets = set(hidden)
    for index, track in enumerate(list(recommended)[:k]):
        if track in targets:
            return float(index // 10)
    return float(k // 10 + 1)


def recall_at_k(target: Hashable, recommended: Sequence[Hashable], k: int) -> float:
    """1 when the next track is among the first k recommendations, else 0."""
    return 1.0 if target in list(recommended)[:k] else 0.0


# ---------------------------------------------------------------------------------------------
# Batch forms over integer ids: -1 marks "no recommendation" (padding at the end of a row).


@dataclass(frozen=True)
class ContinuationScores:
    """Per-playlist values of the challenge metrics, aligned with the rows that were scored."""

    r_precision: np.ndarray
    r_precision_artist: np.ndarray
    ndcg: np.ndarray
    clicks: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            "r_precision": self.r_precision,
            "r_precision_artist": self.r_precision_artist,
            "ndcg": self.ndcg,
            "clicks": self.clicks,
        }


def _row_keys(rows: np.ndarray, ids: np.ndarray, width: int) -> np.ndarray:
    return rows.astype(np.int64) * np.int64(width) + ids.astype(np.int64)


def score_continuations(
    recommended: np.ndarray,
    hidden_offsets: np.ndarray,
    hidden_ids: np.ndarray,
    track_artist: np.ndarray,
    row_labels: Sequence[object] | None = None,
) -> ContinuationScores:
    """The challenge metrics of every row of `recommended` ([n, k] track ids, -1 = none).

    Hidden tracks of row i are `hidden_ids[hidden_offsets[i]:hidden_offsets[i + 1]]`;
    `track_artist[t]` is the artist id of track t. `row_labels` (playlist ids) name the culprit
    when a row has no hidden track.
    """
    recommended = np.asarray(recommended, dtype=np.int64)
    n, k = recommended.shape
    hidden_offsets = np.asarray(hidden_offsets, dtype=np.int64)
    hidden_ids = np.asarray(hidden_ids, dtype=np.int64)
    if hidden_offsets.shape != (n + 1,):
        raise ValueError(f"hidden_offsets has {hidden_offsets.size} entries; expected {n + 1}")
    if n == 0:
        empty = np.zeros(0)
        return ContinuationScores(empty, empty, empty, empty)
    width = int(max(track_artist.size, recommended.max() + 1, hidden_ids.max(initial=-1) + 1))
    artist_width = int(track_artist.max(initial=0)) + 1

    hidden_rows = np.repeat(np.arange(n), np.diff(hidden_offsets))
    hidden_keys = np.unique(_row_keys(hidden_rows, hidden_ids, width))
    hidden_count = np.bincount(hidden_keys // width, minlength=n)
    if (hidden_count == 0).any():
        bad = int(np.flatnonzero(hidden_count == 0)[0])
        label = row_labels[bad] if row_labels is not None else bad
        raise ValueError(f"playlist {label} has no hidden track; its metrics are undefined")

    valid = recommended >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))
    keys = _row_keys(rows, np.where(valid, recommended, 0), width)
    hit = valid & np.isin(keys, hidden_keys)
    first = np.zeros(n * k, dtype=bool)
    first[np.unique(np.where(valid, keys, -1).ravel(), return_index=True)[1]] = True
    first = first.reshape(n, k) & valid
    position = np.arange(k)[None, :]

    # R-precision: distinct hits among the first |G| positions.
    in_head = position < hidden_count[:, None]
    track_hits = (hit & first & in_head).sum(axis=1)
    r_prec = track_hits / hidden_count

    # Artist credit: distinct artists of the first |G| recommendations that a hidden track has.
    hidden_artist_keys = np.unique(_row_keys(hidden_rows, track_artist[hidden_ids], artist_width))
    head = valid & in_head
    head_artist_keys = np.unique(
        _row_keys(rows[head], track_artist[recommended[head]], artist_width)
    )
    artist_hits = np.bincount(
        head_artist_keys[np.isin(head_artist_keys, hidden_artist_keys)] // artist_width,
        minlength=n,
    )
    r_prec_artist = (track_hits + ARTIST_CREDIT * artist_hits) / hidden_count

    # NDCG: positions after de-duplication (first occurrences only), IDCG over min(|G|, k).
    deduplicated_rank = np.cumsum(first, axis=1)
    discount = 1.0 / np.log2(np.arange(1, k + 1) + 1.0)
    gains = np.where(hit & first, discount[np.maximum(deduplicated_rank, 1) - 1], 0.0)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(hidden_count, k)]
    ndcg_values = gains.sum(axis=1) / ideal

    # Clicks: raw position of the first hit (duplicates counted), k/10 + 1 without one.
    any_hit = hit.any(axis=1)
    clicks_values = np.where(any_hit, hit.argmax(axis=1) // 10, k // 10 + 1).astype(float)
    return ContinuationScores(r_prec, r_prec_artist, ndcg_values, clicks_values)


def recall_at_ks(
    recommended: np.ndarray, targets: np.ndarray, ks: Sequence[int] = RECALL_KS
) -> dict[int, np.ndarray]:
    """Per pair, 1.0 when `targets[i]` is in the first k of `recommended[i]`, for every k."""
    recommended = np.asarray(recommended, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    if recommended.shape[1] < max(ks):
        raise ValueError(
            f"recall@{max(ks)} needs {max(ks)} recommendations per query; "
            f"got {recommended.shape[1]}"
        )
    match = (recommended == targets[:, None]) & (targets[:, None] >= 0)
    first_match = np.where(match.any(axis=1), match.argmax(axis=1), recommended.shape[1])
    return {k: (first_match < k).astype(float) for k in ks}
