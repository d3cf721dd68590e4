"""The trainer entry point: `python -m twotower_assets.pipelines.trainer --root ROOT`.

Reads TFRecord shards and the vocabulary under the artifact root (local or gs://), trains the
two towers with per-epoch checkpoints (a restarted run resumes), and swaps `model/` into place
only when both SavedModels and `history.json` are written. Reports to Dagster Pipes only when
launched by Pipes; otherwise it is a plain command (Vertex AI runs it the same way).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from twotower_assets.pipelines.feature_spec import Feature

# TensorFlow is imported inside the functions that need it: the parameters and the metadata
# helpers below are imported by Dagster definitions, which must load without TensorFlow.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


class ModelParameters(BaseModel):
    """Architecture hyperparameters (defaults sized for a 2-core CPU and a ~10k-playlist sample)."""

    embedding_dim: int = Field(
        default=64, description="Width of id/name embeddings (small vocabularies get less)."
    )
    hidden_layers: list[int] = Field(
        default=[256], description="ReLU layer widths of each tower, before the output layer."
    )
    output_dim: int = Field(default=64, description="Embedding size both towers end in.")
    temperature: float = Field(
        default=0.05, description="Softmax temperature over cosine similarities."
    )
    use_logq_correction: bool = Field(
        default=True,
        description="Subtract log(candidate sampling probability) from in-batch logits.",
    )
    share_embeddings: bool = Field(
        default=True,
        description="History ids in the query tower share tables with candidate ids.",
    )
    dropout: float = Field(default=0.0, description="Dropout rate after each hidden layer.")
    seed: int = Field(default=1234, description="Initializer / shuffle seed.")


MODEL_FOLDER = "model"
STAGING_SUFFIX = ".staging"
HISTORY_FILE = "history.json"


class TrainingParameters(ModelParameters):
    """Every hyperparameter of one run (the `dg.Config` of `two_tower_model` is made from it)."""

    batch_size: int = Field(
        default=1024, description="Examples per step (= in-batch negatives + 1)."
    )
    epochs: int = Field(default=4, description="Passes over the training shards.")
    learning_rate: float = Field(default=0.003, description="Optimizer learning rate.")
    # Adam clearly beat Adagrad on the synthetic sample (val loss 4.24 vs 6.29 after 2 epochs);
    # lazy_adam is Adam with row-sparse embedding updates (cheaper per step, same quality).
    optimizer: str = Field(default="lazy_adam", description="lazy_adam, adam, adagrad or sgd.")
    shuffle_buffer: int = Field(
        default=100_000,
        description="Examples in the shuffle buffer when streaming (cache_examples off).",
    )
    cache_examples: bool = Field(
        default=True,
        description=(
            "Parse and look up every example once and keep the ids in memory (each epoch is "
            "then a full reshuffle); off: stream the shards through the shuffle buffer."
        ),
    )


def model_features() -> tuple[Feature, ...]:
    from twotower_assets.pipelines.feature_spec import CANDIDATE_FEATURES, QUERY_FEATURES
    from twotower_assets.pipelines.towers import model_input_features

    return model_input_features(QUERY_FEATURES) + model_input_features(CANDIDATE_FEATURES)


def shard_paths(root: str, split: str) -> list[str]:
    """The TFRecord shards of `split` (train, valid, candidates) under `root`."""
    import tensorflow as tf

    pattern = f"{root.rstrip('/')}/tfrecords/{split}/part-*.tfrecord*"
    return sorted(tf.io.gfile.glob(pattern))


def read_examples(
    paths: list[str],
    features: tuple[Feature, ...],
    history_length: int,
    batch_size: int,
    *,
    shuffle_buffer: int = 0,
    seed: int = 0,
    cache: bool = False,
    drop_remainder: bool = False,
    transform: Any = None,
) -> Any:
    """A tf.data.Dataset of raw-feature batches: scalars [B], histories [B, history_length].

    `transform` (batch -> batch) runs in the same parallel map, e.g. the towers' lookups.
    """
    import tensorflow as tf

    from twotower_assets.pipelines.feature_spec import parse_spec
    from twotower_assets.pipelines.towers import padding_value

    if not paths:
        raise FileNotFoundError("no TFRecord shards given")
    compression = "GZIP" if paths[0].endswith(".gz") else ""
    spec = parse_spec(features)
    lists = [feature for feature in features if feature.shape == "var_len"]

    def to_dense(serialized: Any) -> dict[str, Any]:
        parsed = tf.io.parse_example(serialized, spec)
        for feature in lists:
            parsed[feature.name] = parsed[feature.name].to_tensor(
                default_value=padding_value(feature), shape=[None, history_length]
            )
        return transform(parsed) if transform is not None else parsed

    dataset = tf.data.TFRecordDataset(
        paths, compression_type=compression, num_parallel_reads=tf.data.AUTOTUNE
    )
    if cache:
        dataset = dataset.cache()
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.map(to_dense, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def materialize(dataset: Any) -> dict[str, Any]:
    """Concatenate every batch of `dataset` (a dict of tensors) into whole-split tensors."""
    import numpy as np
    import tensorflow as tf

    columns: dict[str, list[Any]] = {}
    for batch in dataset:
        for name, tensor in batch.items():
            columns.setdefault(name, []).append(tensor.numpy())
    if not columns:
        raise ValueError("the dataset to materialize is empty")
    return {name: tf.constant(np.concatenate(parts)) for name, parts in columns.items()}


def batches_from_memory(
    data: dict[str, Any],
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    drop_remainder: bool = False,
) -> Any:
    """Batches gathered from in-memory tensors; with `shuffle`, a new permutation every epoch.

    Shuffling indices and gathering rows costs ~3 ms of CPU per 1,024 examples, where
    re-parsing and re-looking-up cached serialized examples cost ~15 ms.
    """
    import tensorflow as tf

    count = int(next(iter(data.values())).shape[0])
    indices = tf.data.Dataset.range(count)
    if shuffle:
        indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size, drop_remainder=drop_remainder)
    return indices.map(
        lambda rows: {name: tf.gather(tensor, rows) for name, tensor in data.items()},
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)


def save_tower(tower: Any, path: str) -> None:
    """Save `tower` with a serving signature over raw features -> {'embedding': [B, D]}."""
    import tensorflow as tf

    from twotower_assets.pipelines.towers import serving_signature

    module = tf.Module()
    module.tower = tower
    module.embed = tf.function(
        lambda features: {"embedding": tower(features, training=False)},
        input_signature=[serving_signature(tower.features)],
    )
    tf.saved_model.save(module, path, signatures={"serving_default": module.embed})


def _training_inputs(
    model: Any,
    parameters: TrainingParameters,
    train_paths: list[str],
    valid_paths: list[str],
    history_length: int,
) -> tuple[Any, Any]:
    """Train and validation datasets of preprocessed batches (ids, not strings).

    With `cache_examples` every example is parsed and looked up once, kept in memory as
    tensors and gathered into freshly shuffled batches each epoch; otherwise each epoch
    streams the shards through a shuffle buffer and the same parallel preprocessing map.
    """
    features = model_features()
    read = dict(features=features, history_length=history_length, transform=model.preprocess)
    if parameters.cache_examples:
        train = batches_from_memory(
            materialize(read_examples(train_paths, batch_size=4096, **read)),
            parameters.batch_size,
            shuffle=True,
            seed=parameters.seed,
            drop_remainder=True,  # equal batches: the in-batch softmax is comparable step to step
        )
        valid = (
            batches_from_memory(
                materialize(read_examples(valid_paths, batch_size=4096, **read)),
                parameters.batch_size,
                shuffle=False,
            )
            if valid_paths
            else None
        )
        return train, valid
    train = read_examples(
        train_paths,
        batch_size=parameters.batch_size,
        shuffle_buffer=parameters.shuffle_buffer,
        seed=parameters.seed,
        drop_remainder=True,
        **read,
    )
    valid = (
        read_examples(valid_paths, batch_size=parameters.batch_size, cache=True, **read)
        if valid_paths
        else None
    )
    return train, valid


def _lazy_adam_class() -> Any:
    """Adam whose sparse (embedding-row) updates touch only the rows in the batch.

    Keras' Adam decays the moments of a whole embedding table on every step, even for an
    IndexedSlices gradient, a cost that grows with the catalogue. Here only the rows of the
    batch (deduplicated by `apply_gradients`) have their moments and values updated with the
    usual Adam rule; rows not in the batch keep their moments
    (the "lazy Adam" of TF Addons). Dense variables get the ordinary Adam update.
    """
    import tensorflow as tf

    class LazyAdam(tf.keras.optimizers.Adam):
        def update_step(self, gradient: Any, variable: Any) -> None:
            if not isinstance(gradient, tf.IndexedSlices):
                super().update_step(gradient, variable)
                return
            dtype = variable.dtype
            lr = tf.cast(self.learning_rate, dtype)
            step = tf.cast(self.iterations + 1, dtype)
            beta_1 = tf.cast(self.beta_1, dtype)
            beta_2 = tf.cast(self.beta_2, dtype)
            alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
            key = self._var_key(variable)
            m = self._momentums[self._index_dict[key]]
            v = self._velocities[self._index_dict[key]]
            # apply_gradients has already summed duplicate rows (_deduplicate_sparse_grad).
            rows, values = gradient.indices, gradient.values
            m_rows = beta_1 * tf.gather(m, rows) + (1 - beta_1) * values
            v_rows = beta_2 * tf.gather(v, rows) + (1 - beta_2) * tf.square(values)
            m.scatter_update(tf.IndexedSlices(m_rows, rows))
            v.scatter_update(tf.IndexedSlices(v_rows, rows))
            variable.scatter_sub(
                tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows)
            )

    return LazyAdam


def _optimizer(parameters: TrainingParameters) -> Any:
    import tensorflow as tf

    name = parameters.optimizer.lower()
    choices = {
        "adagrad": tf.keras.optimizers.Adagrad,
        "adam": tf.keras.optimizers.Adam,
        "lazy_adam": _lazy_adam_class(),
        "sgd": tf.keras.optimizers.SGD,
    }
    if name not in choices:
        raise ValueError(f"optimizer {parameters.optimizer!r} is not one of {sorted(choices)}")
    return choices[name](learning_rate=parameters.learning_rate)


def _fingerprint(parameters: TrainingParameters, root: str) -> str:
    """Resuming is only valid for the same parameters, vocabulary and shards."""
    import tensorflow as tf

    with tf.io.gfile.GFile(f"{root.rstrip('/')}/vocabulary/vocabulary.json", "rb") as handle:
        vocabulary = handle.read()
    shards = [(p, tf.io.gfile.stat(p).length) for p in shard_paths(root, "train")]
    payload = (
        json.dumps(
            {"parameters": parameters.model_dump(), "shards": shards}, sort_keys=True
        ).encode()
        + vocabulary
    )
    return hashlib.sha256(payload).hexdigest()[:16]


class PipesReporter:
    """Per-epoch logs and the final materialization, sent to Dagster Pipes when present."""

    def __init__(self, pipes: Any | None) -> None:
        self.pipes = pipes

    def log(self, message: str) -> None:
        print(message, flush=True)
        if self.pipes is not None:
            self.pipes.log.info(message)

    def report(self, metadata: dict[str, Any]) -> None:
        if self.pipes is not None:
            self.pipes.report_asset_materialization(metadata=metadata)


@contextlib.contextmanager
def open_reporter() -> Iterator[PipesReporter]:
    from dagster_pipes import PipesEnvVarParamsLoader, open_dagster_pipes

    if PipesEnvVarParamsLoader().is_dagster_pipes_process():
        with open_dagster_pipes() as pipes:
            yield PipesReporter(pipes)
    else:
        yield PipesReporter(None)


def _epoch_recorder(**kwargs: Any) -> Any:
    """A Keras callback recording each epoch (built here so the module imports without TF)."""
    import tensorflow as tf

    class _EpochRecorder(tf.keras.callbacks.Callback):  # type: ignore[name-defined]
        """Averages batch losses (TFRS reports the last batch only), checkpoints, times epochs."""

        def __init__(
            self,
            manager: tf.train.CheckpointManager,
            epoch_variable: tf.Variable,
            history: list[dict[str, Any]],
            history_path: str,
            batch_size: int,
            reporter: PipesReporter,
            stop_after_epoch: int | None,
            preprocess_seconds: float = 0.0,
        ) -> None:
            super().__init__()
            self.manager = manager
            self.epoch_variable = epoch_variable
            self.history = history
            self.history_path = history_path
            self.batch_size = batch_size
            self.reporter = reporter
            self.stop_after_epoch = stop_after_epoch
            # One-time input preparation before fit; charged to the first epoch of this run.
            self.preprocess_seconds = preprocess_seconds

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.losses: list[float] = []
            self.steps = 0
            self.started = time.perf_counter()
            self.train_seconds = 0.0
            self.steady_seconds = 0.0
            self.steady_steps = 0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.losses.append(float((logs or {}).get("loss", float("nan"))))
            now = time.perf_counter()
            if not self.steps:
                # Steady-state speed excludes the first execution, which traces the graph.
                self.first_done, self.first_steps = now, batch + 1
            self.steps = batch + 1
            self.train_seconds = now - self.started
            self.steady_seconds = now - self.first_done
            self.steady_steps = self.steps - self.first_steps

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            examples = self.steps * self.batch_size
            entry = {
                "epoch": epoch + 1,
                "loss": sum(self.losses) / max(len(self.losses), 1),
                "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                "steps": self.steps,
                "examples": examples,
                "seconds": round(self.train_seconds, 3),
                "preprocess_seconds": round(self.preprocess_seconds, 3),
                "examples_per_second": (
                    self.steady_steps * self.batch_size / self.steady_seconds
                    if self.steady_steps and self.steady_seconds > 0
                    else examples / max(self.train_seconds, 1e-9)
                ),
            }
            self.preprocess_seconds = 0.0
            self.history.append(entry)
            self.epoch_variable.assign(epoch + 1)
            self.manager.save(checkpoint_number=epoch + 1)
            with tf.io.gfile.GFile(self.history_path, "w") as handle:
                handle.write(json.dumps(self.history, indent=2))
            val = f", val_loss {entry['val_loss']:.4f}" if entry["val_loss"] is not None else ""
            self.reporter.log(
                f"epoch {entry['epoch']}: loss {entry['loss']:.4f}{val}, "
                f"{entry['examples_per_second']:.0f} examples/s, {entry['seconds']:.1f} s"
            )
            if self.stop_after_epoch is not None and epoch + 1 >= self.stop_after_epoch:
                self.model.stop_training = True

    return _EpochRecorder(**kwargs)


@dataclass(frozen=True)
class TrainingResult:
    model_path: str
    history: list[dict[str, Any]]
    resumed_from_epoch: int
    completed: bool


def train(
    root: str,
    parameters: TrainingParameters,
    *,
    stop_after_epoch: int | None = None,
    reporter: PipesReporter | None = None,
) -> TrainingResult:
    """Train (resuming when a matching checkpoint exists) and publish `model/` atomically.

    `stop_after_epoch` ends the run early without publishing (as an interruption would); a
    later call continues from the last checkpoint.
    """
    import tensorflow as tf

    from twotower_assets.pipelines.towers import TwoTowerModel, Vocabulary

    reporter = reporter or PipesReporter(None)
    root = root.rstrip("/")
    vocabulary = Vocabulary.load(f"{root}/vocabulary")
    train_paths = shard_paths(root, "train")
    if not train_paths:
        raise FileNotFoundError(f"no training shards under {root}/tfrecords/train/")
    valid_paths = shard_paths(root, "valid")

    final = f"{root}/{MODEL_FOLDER}"
    staging = final + STAGING_SUFFIX
    fingerprint = _fingerprint(parameters, root)
    fingerprint_path = f"{staging}/fingerprint.txt"
    if tf.io.gfile.exists(staging):
        previous = ""
        if tf.io.gfile.exists(fingerprint_path):
            with tf.io.gfile.GFile(fingerprint_path) as handle:
                previous = handle.read().strip()
        if previous != fingerprint:
            reporter.log(f"discarding {staging}: it belongs to other parameters or data")
            tf.io.gfile.rmtree(staging)
    tf.io.gfile.makedirs(staging)
    with tf.io.gfile.GFile(fingerprint_path, "w") as handle:
        handle.write(fingerprint)

    tf.keras.utils.set_random_seed(parameters.seed)
    model = TwoTowerModel(vocabulary, parameters)
    optimizer = _optimizer(parameters)
    model.compile(optimizer=optimizer)
    epoch_variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_variable)
    manager = tf.train.CheckpointManager(checkpoint, f"{staging}/checkpoints", max_to_keep=2)
    history_path = f"{staging}/{HISTORY_FILE}"
    history: list[dict[str, Any]] = []
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        if tf.io.gfile.exists(history_path):
            with tf.io.gfile.GFile(history_path) as handle:
                history = json.load(handle)[: int(epoch_variable.numpy())]
        reporter.log(f"resuming from {manager.latest_checkpoint} (epoch {int(epoch_variable)})")
    start_epoch = int(epoch_variable.numpy())

    started = time.perf_counter()
    train_data, valid_data = _training_inputs(
        model, parameters, train_paths, valid_paths, vocabulary.history_length
    )
    preprocess_seconds = time.perf_counter() - started
    if parameters.cache_examples:
        reporter.log(f"examples parsed and looked up once in {preprocess_seconds:.1f} s")
    gpus = tf.config.list_physical_devices("GPU")
    devices = f"GPU x{len(gpus)}" if gpus else "CPU"
    reporter.log(f"training on {len(train_paths)} shards, devices: {devices}")
    recorder = _epoch_recorder(
        manager=manager,
        epoch_variable=epoch_variable,
        history=history,
        history_path=history_path,
        batch_size=parameters.batch_size,
        reporter=reporter,
        stop_after_epoch=stop_after_epoch,
        preprocess_seconds=preprocess_seconds,
    )
    if start_epoch < parameters.epochs:
        model.fit(
            train_data,
            validation_data=valid_data,
            initial_epoch=start_epoch,
            epochs=parameters.epochs,
            callbacks=[
                recorder,
                tf.keras.callbacks.TensorBoard(log_dir=f"{staging}/logs", update_freq="epoch"),
            ],
            verbose=0,
        )
    completed_epochs = int(epoch_variable.numpy())
    if completed_epochs < parameters.epochs:
        return TrainingResult(staging, history, start_epoch, completed=False)

    save_tower(model.query_tower, f"{staging}/query_tower")
    save_tower(model.candidate_tower, f"{staging}/candidate_tower")
    with tf.io.gfile.GFile(f"{staging}/parameters.json", "w") as handle:
        handle.write(json.dumps(parameters.model_dump(), indent=2))
    _publish(root, staging, final)
    reporter.log(f"model written to {final}")
    return TrainingResult(final, history, start_epoch, completed=True)


def _publish(root: str, staging: str, final: str) -> None:
    # The shared atomic swap (rename locally; copy-then-replace on object stores).
    from resources.storage import ArtifactStore

    ArtifactStore(root=root).commit(staging, final)


def materialization_metadata(
    root: str, parameters: TrainingParameters, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """Pipes-style metadata ({'raw_value', 'type'}) describing a finished training run."""
    rows = "\n".join(
        f"| {e['epoch']} | {e['loss']:.4f} | "
        f"{'' if e.get('val_loss') is None else format(e['val_loss'], '.4f')} | "
        f"{e['examples_per_second']:.0f} | {e['seconds']:.1f} |"
        for e in history
    )
    table = "| epoch | loss | val_loss | examples/s | seconds |\n|---|---|---|---|---|\n" + rows
    speeds = [e["examples_per_second"] for e in history if e["examples_per_second"]]
    metadata: dict[str, Any] = {
        "parameters": {"raw_value": parameters.model_dump(), "type": "json"},
        "epochs": {"raw_value": len(history), "type": "int"},
        "examples_per_second": {
            "raw_value": float(sum(speeds) / len(speeds)) if speeds else 0.0,
            "type": "float",
        },
        "final_loss": {
            "raw_value": float(history[-1]["loss"]) if history else 0.0,
            "type": "float",
        },
        "loss_curve": {"raw_value": table, "type": "md"},
        "model_path": {"raw_value": f"{root}/{MODEL_FOLDER}", "type": "path"},
        "query_tower": {"raw_value": f"{root}/{MODEL_FOLDER}/query_tower", "type": "path"},
        "candidate_tower": {"raw_value": f"{root}/{MODEL_FOLDER}/candidate_tower", "type": "path"},
        "tensorboard_logs": {"raw_value": f"{root}/{MODEL_FOLDER}/logs", "type": "path"},
    }
    for entry in history:
        metadata[f"loss_epoch_{entry['epoch']}"] = {"raw_value": entry["loss"], "type": "float"}
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="artifact root (folder or gs:// prefix)")
    parser.add_argument(
        "--parameters-json", default="{}", help="TrainingParameters as JSON (defaults otherwise)"
    )
    parser.add_argument(
        "--stop-after-epoch",
        type=int,
        default=None,
        help="stop after this epoch without publishing (rerun to resume)",
    )
    args = parser.parse_args(argv)
    parameters = TrainingParameters.model_validate(json.loads(args.parameters_json))
    with open_reporter() as reporter:
        result = train(
            args.root, parameters, stop_after_epoch=args.stop_after_epoch, reporter=reporter
        )
        if result.completed:
            reporter.report(materialization_metadata(args.root, parameters, result.history))
    return 0 if result.completed or args.stop_after_epoch else 1


if __name__ == "__main__":
    sys.exit(main())
