"""A small generated MPD sample shared by the MPD tool tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twotower_assets.mpd.generate import generate_mpd


@pytest.fixture(scope="session")
def small_mpd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mpd") / "sample"
    generate_mpd(out, 2500, seed=7, workers=1)
    return out
