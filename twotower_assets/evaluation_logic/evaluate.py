"""Every model on the same held-out inputs: recommendations, per-playlist scores, the table.

Models: `two_tower` (when a retriever is given), `popularity`, `cooccurrence`. The challenge
metrics come per category and overall (`all`); next-track recall overall only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twotower_assets.evaluation_logic.baselines import (
    CooccurrenceRecommender,
    PopularityRecommender,
    TitlePopularity,
    playlist_counts,
    popularity_order,
)
from twotower_assets.evaluation_logic.inputs import EvaluationInputs
from twotower_assets.evaluation_logic.metrics import (
    RECALL_KS,
    RECOMMENDATIONS,
    recall_at_ks,
    score_continuations,
)
from twotower_assets.evaluation_logic.two_tower import TwoTowerRetriever

CHALLENGE_METRICS = ("r_precision", "r_precision_artist", "ndcg", "clicks")
RECALL_METRICS = tuple(f"recall@{k}" for k in RECALL_KS)
METRICS = CHALLENGE_METRICS + RECALL_METRICS
OVERALL = "all"


@dataclass(frozen=True)
class MetricRow:
    model: str
    metric: str
    category: str
    value: float


@dataclass
class EvaluationResult:
    recommendations: dict[str, np.ndarray]  # model -> [holdout playlists, 500] catalogue ids
    metrics: list[MetricRow]
    seconds: dict[str, float] = field(default_factory=dict)

    def value(self, model: str, metric: str, category: str = OVERALL) -> float:
        for row in self.metrics:
            if (row.model, row.metric, row.category) == (model, metric, category):
                return row.value
        raise KeyError(f"no {metric} for model {model!r} in category {category!r}")


def _summaries(
    model: str, scores: dict[str, np.ndarray], categories: np.ndarray
) -> list[MetricRow]:
    rows = []
    for metric, values in scores.items():
        rows.append(MetricRow(model, metric, OVERALL, float(values.mean())))
        for category in sorted(set(categories.tolist())):
            mask = categories == category
            rows.append(MetricRow(model, metric, str(category), float(values[mask].mean())))
    return rows


def evaluate(
    inputs: EvaluationInputs,
    retriever: TwoTowerRetriever | None,
    cooccurrence_exponent: float = 0.5,
    log: Callable[[str], None] = lambda message: None,
    k: int = RECOMMENDATIONS,
) -> EvaluationResult:
    catalogue, holdout, next_track = inputs.catalogue, inputs.holdout, inputs.next_track
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    training = inputs.training
    track_pop = playlist_counts(training.playlists, catalogue.size)
    popularity = PopularityRecommender(popularity_order(track_pop))
    cooccurrence = CooccurrenceRecommender(
        training.playlists,
        catalogue.size,
        exponent=cooccurrence_exponent,
        titles=TitlePopularity.build(training.titles, training.playlists, track_pop, k),
    )
    seconds["fit_baselines"] = time.perf_counter() - started
    log(
        f"baselines fitted on {training.playlists.rows} training playlists "
        f"in {seconds['fit_baselines']:.2f}s"
    )

    models: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "popularity": lambda: (
            popularity.recommend(holdout.seeds, k),
            popularity.recommend(next_track.history, k),
        ),
        "cooccurrence": lambda: (
            cooccurrence.recommend(holdout.seeds, k, holdout.titles),
            cooccurrence.recommend(next_track.history, k),
        ),
    }
    if retriever is not None:
        models = {
            "two_tower": lambda: (
                retriever.recommend(holdout.features, holdout.seeds, k),
                retriever.recommend(next_track.features, next_track.history, k),
            ),
            **models,
        }

    recommendations: dict[str, np.ndarray] = {}
    rows: list[MetricRow] = []
    for model, run in models.items():
        started = time.perf_counter()
        continuation, following = run()
        seconds[f"recommend_{model}"] = time.perf_counter() - started
        started = time.perf_counter()
        scores = score_continuations(
            continuation,
            holdout.hidden.offsets,
            holdout.hidden.values,
            catalogue.track_artist,
            row_labels=holdout.pids.tolist(),
        ).as_dict()
        rows.extend(_summaries(model, scores, holdout.categories))
        for recall_k, hits in recall_at_ks(following, next_track.targets, RECALL_KS).items():
            rows.append(MetricRow(model, f"recall@{recall_k}", OVERALL, float(hits.mean())))
        seconds[f"score_{model}"] = time.perf_counter() - started
        recommendations[model] = continuation
        log(
            f"{model}: {holdout.pids.size} playlists, {next_track.targets.size} next-track "
            f"queries; recommend {seconds[f'recommend_{model}']:.2f}s, "
            f"score {seconds[f'score_{model}']:.2f}s"
        )
    return EvaluationResult(recommendations, rows, seconds)
