"""Model-test fixtures: one synthetic sample and one tiny trained model per session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tests.model.synthetic import SyntheticSample, write_sample  # noqa: E402
from twotower_assets.pipelines.trainer import TrainingParameters  # noqa: E402

# Small enough to train in seconds on 2 shared cores, big enough to learn the themes.
TINY = TrainingParameters(
    embedding_dim=16,
    hidden_layers=[32],
    output_dim=16,
    batch_size=64,
    epochs=4,
    learning_rate=0.01,
    shuffle_buffer=2000,
)


@dataclass(frozen=True)
class TrainedSample:
    sample: SyntheticSample
    root: str
    parameters: TrainingParameters
    history: list[dict]


@pytest.fixture(scope="session")
def synthetic_sample(tmp_path_factory: pytest.TempPathFactory) -> SyntheticSample:
    return write_sample(tmp_path_factory.mktemp("sample"), playlists=160, playlist_length=10)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedSample:
    from twotower_assets.pipelines.trainer import train

    root = tmp_path_factory.mktemp("trained")
    sample = write_sample(root, playlists=160, playlist_length=10)
    result = train(str(root), TINY)
    assert result.completed
    return TrainedSample(sample, str(root), TINY, result.history)


def theme_of(uri: str) -> int:
    """Synthetic track URIs are `spotify:track:t<theme>x<index>`."""
    return int(uri.rsplit(":", 1)[1][1:].split("x", 1)[0])


def copy_sample(sample: SyntheticSample, destination: Path) -> Path:
    import shutil

    shutil.copytree(sample.root / "tfrecords", destination / "tfrecords")
    shutil.copytree(sample.root / "vocabulary", destination / "vocabulary")
    return destination
