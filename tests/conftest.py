"""Shared fixtures: an isolated TWOTOWER_HOME per test and the local resources over it.

Subfolders (tests/mpd, tests/warehouse, ...) add their own fixtures in their own conftest.py.
"""

from __future__ import annotations

import os

# TensorFlow Recommenders needs Keras 2; set before anything imports TensorFlow.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def twotower_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TWOTOWER_HOME and TWOTOWER_MPD_DIR under tmp_path, local profile; returns the home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TWOTOWER_HOME", str(home))
    monkeypatch.setenv("TWOTOWER_MPD_DIR", str(tmp_path / "mpd"))
    monkeypatch.setenv("TWOTOWER_PROFILE", "local")
    return home


@pytest.fixture
def local_resources(twotower_env: Path) -> dict:
    from resources import build_resources

    return build_resources("local")
