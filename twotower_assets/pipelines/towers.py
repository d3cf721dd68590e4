"""The two towers and the retrieval model, generated from the feature spec and the vocabulary.

Every encoder comes from a loop over `feature_spec` (by dtype and shape) and its size from
`vocabulary.json`; nothing here names an individual feature except the title-normalization rule.
No Dagster; TensorFlow is imported by callers with TF_USE_LEGACY_KERAS=1 already set.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import fsspec  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_recommenders as tfrs  # noqa: E402

from twotower_assets.pipelines.feature_spec import (  # noqa: E402
    CANDIDATE_FEATURES,
    QUERY_FEATURES,
    Feature,
)
from twotower_assets.pipelines.trainer import ModelParameters  # noqa: E402
from twotower_assets.pipelines.vocabulary import NEWLINE_PATTERN, TITLE_SEPARATORS  # noqa: E402

# Text features are tokenized and looked up in this vocabulary (normalized title words).
TEXT_VOCABULARY = "title_tokens"
TEXT_FEATURES = ("name", "description_pl")
# Words of a title/description the towers read (MPD titles have 1-4 words; long descriptions
# are cut, in training and serving alike).
TEXT_TOKENS = 16
# Role suffixes: `track_uri_pl` and `track_uri_can` both look up vocabulary `track_uri`, which is
# what lets the two towers share one id table.
_ROLE_SUFFIXES = ("_pl", "_can")
# Whether name/genre histories also feed their last track's vector (ids always do).
LAST_TRACK_NAMES = False
# Bucket count for float features discretized on a log scale between the vocabulary's min/max.
FLOAT_BUCKETS = 32
# Candidate popularity feature used for the log-Q correction and its normalizer.
POPULARITY_FEATURE = "track_pop_can"
CANDIDATE_ID_FEATURE = "track_uri_can"
# Keys the model adds to the preprocessed batch (they cannot clash with feature names).
SCALED_SUFFIX = "__scaled"
# Preprocessed ids are int32: half the memory of the in-memory training cache.
ID_DTYPE = tf.int32
CANDIDATE_HASH_KEY = "__candidate_hash"
CANDIDATE_COUNT_KEY = "__candidate_count"


@dataclass(frozen=True)
class Vocabulary:
    """`vocabulary.json` plus the value lists it points to."""

    history_length: int
    train_pairs: int
    values: dict[str, list[str]]
    statistics: dict[str, dict[str, float]]
    distinct_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str) -> Vocabulary:
        """Read `<folder>/vocabulary.json` and every `.txt` it names (local or gs://)."""
        manifest_path = f"{folder.rstrip('/')}/vocabulary.json"
        with fsspec.open(manifest_path, "r", encoding="utf-8") as handle:
            manifest = json.load(handle)
        values: dict[str, list[str]] = {}
        for name, entry in manifest.get("vocabularies", {}).items():
            path = f"{folder.rstrip('/')}/{entry['file']}"
            with fsspec.open(path, "r", encoding="utf-8") as handle:
                lines = handle.read().split("\n")
            # '' is the padding token of the lookups and cannot be a vocabulary entry.
            values[name] = list(dict.fromkeys(line for line in lines if line))
            if entry.get("size") is not None and len(values[name]) > int(entry["size"]):
                raise ValueError(
                    f"{path}: {len(values[name])} values but vocabulary.json says "
                    f"size {entry['size']}"
                )
        for required in ("history_length", "train_pairs", "statistics"):
            if required not in manifest:
                raise ValueError(f"{manifest_path}: missing key {required!r}")
        return cls(
            history_length=int(manifest["history_length"]),
            train_pairs=int(manifest["train_pairs"]),
            values=values,
            statistics=manifest["statistics"],
            distinct_counts=manifest.get("distinct_counts", {}),
        )


def vocabulary_key(feature: Feature) -> str:
    """The vocabulary a string feature looks up (`artist_uri_pl` -> `artist_uri`)."""
    if feature.name in TEXT_FEATURES:
        return TEXT_VOCABULARY
    for suffix in _ROLE_SUFFIXES:
        if feature.name.endswith(suffix):
            return feature.name[: -len(suffix)]
    return feature.name


def normalize_title(text: tf.Tensor) -> tf.Tensor:
    """The vocabulary's title rule: lower-case, punctuation/symbols/space runs -> one space."""
    lowered = tf.strings.lower(text, encoding="utf-8")
    return tf.strings.strip(tf.strings.regex_replace(lowered, TITLE_SEPARATORS, " "))


def _embedding_width(rows: int, ceiling: int) -> int:
    # Small tables (flags, buckets) do not need the full width; a fourth-root rule keeps them cheap.
    return int(min(ceiling, max(4, round(4 * rows**0.25))))


def _masked_mean(vectors: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    weights = tf.cast(mask, vectors.dtype)[..., tf.newaxis]
    total = tf.reduce_sum(vectors * weights, axis=-2)
    count = tf.maximum(tf.reduce_sum(weights, axis=-2), 1.0)
    return total / count


def _last_valid(vectors: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """The vector of the last unmasked position (history is oldest first, padded at the end)."""
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=-1)
    index = tf.maximum(lengths - 1, 0)
    picked = tf.gather(vectors, index, batch_dims=1)
    return picked * tf.cast(lengths > 0, vectors.dtype)[:, tf.newaxis]


class SharedTables:
    """One lookup + embedding table per vocabulary, reused by every feature that names it."""

    def __init__(self, vocabulary: Vocabulary, parameters: ModelParameters, scope: str) -> None:
        self.vocabulary = vocabulary
        self.parameters = parameters
        self.scope = scope
        self._tables: dict[str, tuple[tf.keras.layers.Layer, tf.keras.layers.Embedding]] = {}

    def get(self, key: str) -> tuple[tf.keras.layers.Layer, tf.keras.layers.Embedding]:
        if key not in self._tables:
            values = self.vocabulary.values.get(key)
            if values:
                lookup: tf.keras.layers.Layer = tf.keras.layers.StringLookup(
                    vocabulary=values, mask_token="", num_oov_indices=1, name=f"{key}_lookup"
                )
                rows = len(values) + 2
            else:
                # No vocabulary file (e.g. `collaborative`): hash into a table sized from the
                # distinct count, with bin 0 reserved for '' like the lookups.
                bins = max(8, 2 * int(self.vocabulary.distinct_counts.get(key, 4)))
                lookup = tf.keras.layers.Hashing(
                    num_bins=bins, mask_value="", name=f"{key}_hashing"
                )
                rows = bins
            embedding = tf.keras.layers.Embedding(
                rows,
                _embedding_width(rows, self.parameters.embedding_dim),
                embeddings_initializer=tf.keras.initializers.RandomNormal(
                    stddev=0.05, seed=self.parameters.seed
                ),
                name=f"{key}_embedding",
            )
            self._tables[key] = (lookup, embedding)
        return self._tables[key]


class Tower(tf.keras.Model):
    """Encoders generated from `features`, concatenated, a ReLU stack, an L2-normalized output."""

    def __init__(
        self,
        features: tuple[Feature, ...],
        vocabulary: Vocabulary,
        parameters: ModelParameters,
        tables: SharedTables,
        name: str,
    ) -> None:
        super().__init__(name=name)
        self.features = tuple(features)
        self.history_length = vocabulary.history_length
        self._tables = tables
        self._bucket_tables: dict[str, tf.keras.layers.Embedding] = {}
        self._boundaries: dict[str, list[float]] = {}
        self._log_range: dict[str, tuple[float, float]] = {}
        for feature in self.features:
            if feature.dtype == "string":
                lookup, embedding = tables.get(vocabulary_key(feature))
                # Keep references so Keras tracks the (possibly shared) layers for saving.
                setattr(self, f"lookup_{feature.name}", lookup)
                setattr(self, f"embedding_{feature.name}", embedding)
            elif feature.dtype == "float":
                stats = vocabulary.statistics.get(feature.name)
                if stats is None:
                    raise ValueError(
                        f"vocabulary.json has no statistics for float feature {feature.name!r}"
                    )
                low = math.log1p(max(float(stats["min"]), 0.0))
                high = math.log1p(max(float(stats["max"]), 0.0))
                if high <= low:
                    high = low + 1.0
                self._log_range[feature.name] = (low, high)
                self._boundaries[feature.name] = [
                    float(b) for b in np.linspace(low, high, FLOAT_BUCKETS - 1)
                ]
                embedding = tf.keras.layers.Embedding(
                    FLOAT_BUCKETS + 1,
                    _embedding_width(FLOAT_BUCKETS, parameters.embedding_dim),
                    name=f"{feature.name}_buckets",
                )
                self._bucket_tables[feature.name] = embedding
                setattr(self, f"buckets_{feature.name}", embedding)
        self.hidden = [
            tf.keras.layers.Dense(
                width,
                activation="relu",
                kernel_initializer=tf.keras.initializers.GlorotUniform(seed=parameters.seed),
                name=f"hidden_{index}",
            )
            for index, width in enumerate(parameters.hidden_layers)
        ]
        self.dropout = (
            tf.keras.layers.Dropout(parameters.dropout) if parameters.dropout > 0 else None
        )
        self.projection = tf.keras.layers.Dense(
            parameters.output_dim,
            kernel_initializer=tf.keras.initializers.GlorotUniform(seed=parameters.seed),
            name="output",
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    # Training splits a tower in two: `preprocess` (string lookups, tokenizing, bucketizing; no
    # trainable weights) runs in the parallel tf.data map, and `encode` (embeddings, pooling,
    # dense layers) is all the gradient step computes. `call` chains both, so the saved serving
    # signature still takes raw features.
    def preprocess(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Raw features -> integer ids (0 = padding) and scaled floats, keyed by feature name."""
        encoded: dict[str, tf.Tensor] = {}
        for feature in self.features:
            if feature.name not in inputs:
                raise KeyError(f"tower {self.name!r} needs feature {feature.name!r}")
            values = inputs[feature.name]
            if feature.dtype == "string":
                encoded[feature.name] = self._string_ids(feature, values)
            else:
                encoded.update(self._float_codes(feature, tf.cast(values, tf.float32)))
        return encoded

    def encode(self, encoded: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """Preprocessed ids/floats -> L2-normalized embeddings [batch, output_dim]."""
        parts: list[tf.Tensor] = []
        for feature in self.features:
            if feature.dtype == "string":
                parts.extend(self._embed_ids(feature, encoded[feature.name]))
            else:
                parts.extend(self._embed_float(feature, encoded))
        hidden = tf.concat(parts, axis=-1)
        for layer in self.hidden:
            hidden = layer(hidden)
            if self.dropout is not None:
                hidden = self.dropout(hidden, training=training)
        return tf.math.l2_normalize(self.projection(hidden), axis=-1)

    def call(self, inputs: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        return self.encode(self.preprocess(inputs), training=training)

    def _string_ids(self, feature: Feature, values: tf.Tensor) -> tf.Tensor:
        lookup = getattr(self, f"lookup_{feature.name}")
        if feature.name in TEXT_FEATURES:
            # The first TEXT_TOKENS words, padded with id 0: a fixed width keeps batches
            # uniform for caching (and tf.data's unbatch crashes on zero-width tensors).
            tokens = tf.strings.split(normalize_title(values))
            return tf.cast(lookup(tokens), ID_DTYPE).to_tensor(
                default_value=0, shape=[None, TEXT_TOKENS]
            )
        if not vocabulary_key(feature).endswith("_uri"):
            # Vocabulary files hold values with newlines replaced by a space (vocabulary.py);
            # URIs never contain whitespace, so they skip the (per-string) regex.
            values = tf.strings.regex_replace(values, NEWLINE_PATTERN, " ")
        # '' (history padding) maps to id 0 in both StringLookup and Hashing.
        return tf.cast(lookup(values), ID_DTYPE)

    def _embed_ids(self, feature: Feature, ids: tf.Tensor) -> list[tf.Tensor]:
        embedding = getattr(self, f"embedding_{feature.name}")
        if feature.name in TEXT_FEATURES:
            # Only the real words are gathered: most of the TEXT_TOKENS slots are padding, and
            # every gathered row is a gradient row the optimizer has to sum.
            words = tf.RaggedTensor.from_tensor(ids, padding=0)
            total = tf.reduce_sum(embedding(words), axis=1)
            count = tf.cast(tf.maximum(words.row_lengths(), 1), total.dtype)[:, tf.newaxis]
            return [total / count]
        vectors = embedding(ids)
        if feature.shape == "scalar":
            return [vectors]
        mask = tf.not_equal(ids, 0)
        if not LAST_TRACK_NAMES and not vocabulary_key(feature).endswith("_uri"):
            # The last track's names and genre add little beside its ids, and every input
            # column widens the first dense layer (a fifth of the step).
            return [_masked_mean(vectors, mask)]
        return [_masked_mean(vectors, mask), _last_valid(vectors, mask)]

    def _float_codes(self, feature: Feature, values: tf.Tensor) -> dict[str, tf.Tensor]:
        # Padding in float histories is NaN; anything non-finite is masked out (bucket id 0).
        mask = tf.math.is_finite(values)
        clean = tf.where(mask, values, tf.zeros_like(values))
        logged = tf.math.log1p(tf.maximum(clean, 0.0))
        low, high = self._log_range[feature.name]
        scaled = tf.clip_by_value((logged - low) / (high - low), -1.0, 2.0)
        buckets = tf.cast(
            tf.raw_ops.Bucketize(input=logged, boundaries=self._boundaries[feature.name]) + 1,
            ID_DTYPE,
        )
        if feature.shape == "scalar":
            return {feature.name: buckets, feature.name + SCALED_SUFFIX: scaled[:, tf.newaxis]}
        weights = tf.cast(mask, tf.float32)
        mean_scaled = tf.reduce_sum(scaled * weights, axis=-1) / tf.maximum(
            tf.reduce_sum(weights, axis=-1), 1.0
        )
        return {
            feature.name: tf.where(mask, buckets, tf.zeros_like(buckets)),
            feature.name + SCALED_SUFFIX: mean_scaled[:, tf.newaxis],
        }

    def _embed_float(self, feature: Feature, encoded: dict[str, tf.Tensor]) -> list[tf.Tensor]:
        buckets = encoded[feature.name]
        vectors = self._bucket_tables[feature.name](buckets)
        if feature.shape == "scalar":
            return [vectors, encoded[feature.name + SCALED_SUFFIX]]
        mask = tf.not_equal(buckets, 0)
        return [_masked_mean(vectors, mask), encoded[feature.name + SCALED_SUFFIX]]


def model_input_features(features: tuple[Feature, ...]) -> tuple[Feature, ...]:
    """The features of a role the towers consume (all of them: the spec holds no dead weight)."""
    return tuple(feature for feature in features if feature.role in ("query", "candidate"))


def build_towers(vocabulary: Vocabulary, parameters: ModelParameters) -> tuple[Tower, Tower]:
    """(query tower, candidate tower). The query tower reads QUERY_FEATURES only."""
    query_tables = SharedTables(vocabulary, parameters, "query")
    candidate_tables = (
        query_tables
        if parameters.share_embeddings
        else SharedTables(vocabulary, parameters, "candidate")
    )
    query = Tower(
        model_input_features(QUERY_FEATURES), vocabulary, parameters, query_tables, "query_tower"
    )
    candidate = Tower(
        model_input_features(CANDIDATE_FEATURES),
        vocabulary,
        parameters,
        candidate_tables,
        "candidate_tower",
    )
    return query, candidate


class TwoTowerModel(tfrs.Model):
    """In-batch softmax retrieval (mean reduction) with accidental-hit removal and log-Q."""

    def __init__(self, vocabulary: Vocabulary, parameters: ModelParameters) -> None:
        super().__init__()
        self.query_tower, self.candidate_tower = build_towers(vocabulary, parameters)
        self.use_logq = parameters.use_logq_correction
        # Sampling probability of a candidate ~ its share of the training pairs.
        self.train_pairs = float(max(vocabulary.train_pairs, 1))
        self.task = tfrs.tasks.Retrieval(
            loss=tf.keras.losses.CategoricalCrossentropy(
                from_logits=True, reduction=tf.keras.losses.Reduction.SUM_OVER_BATCH_SIZE
            ),
            temperature=parameters.temperature,
            remove_accidental_hits=True,
        )

    def preprocess(self, raw: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """The tf.data side of a training batch: both towers' ids plus what the loss needs."""
        encoded = {**self.query_tower.preprocess(raw), **self.candidate_tower.preprocess(raw)}
        # Accidental hits compare raw candidate ids; a 63-bit hash compares as cheaply as an
        # int (string equality over B x B pairs was a third of the step) and, unlike the
        # vocabulary id, keeps out-of-vocabulary tracks apart.
        encoded[CANDIDATE_HASH_KEY] = tf.strings.to_hash_bucket_fast(
            raw[CANDIDATE_ID_FEATURE], 2**63 - 1
        )
        encoded[CANDIDATE_COUNT_KEY] = tf.cast(raw[POPULARITY_FEATURE], tf.float32)
        return encoded

    def compute_loss(self, features: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        """Loss of a batch from `preprocess` (raw batches are preprocessed here first)."""
        if CANDIDATE_HASH_KEY not in features:
            features = self.preprocess(features)
        query = self.query_tower.encode(features, training=training)
        candidate = self.candidate_tower.encode(features, training=training)
        probability = None
        if self.use_logq:
            counts = tf.maximum(features[CANDIDATE_COUNT_KEY], 1.0)
            probability = tf.minimum(counts / self.train_pairs, 1.0)
        return self.task(
            query,
            candidate,
            candidate_sampling_probability=probability,
            candidate_ids=features[CANDIDATE_HASH_KEY],
            compute_metrics=False,
        )


def serving_signature(features: tuple[Feature, ...]) -> dict[str, tf.TensorSpec]:
    """Raw-feature input specs: scalars [batch], histories padded [batch, length]."""
    dtypes = {"string": tf.string, "float": tf.float32, "int": tf.int64}
    return {
        feature.name: tf.TensorSpec(
            [None] if feature.shape == "scalar" else [None, None],
            dtypes[feature.dtype],
            name=feature.name,
        )
        for feature in features
    }


def padding_value(feature: Feature) -> Any:
    """What fills a short history: '' for strings, NaN for floats (both masked by the towers)."""
    return "" if feature.dtype == "string" else float("nan")
