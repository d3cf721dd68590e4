"""Warehouse fixtures: a real DuckDB file with `playlists` / `playlist_tracks` filled.

`synthetic_warehouse` inserts hand-shaped playlists (duplicate tracks, a URI with two spellings,
empty strings, very short playlists) through `DuckDBWarehouse.replace_rows`, the ingest's own
write path. `generated_warehouse` ingests a generated MPD sample with the ingest's table builder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helpers beside the tests import by module name (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from warehouse_data import HISTORY_LENGTH, VALID_MODULUS, synthetic_tables  # noqa: E402

from resources import DatasetSettings, DuckDBWarehouse  # noqa: E402


@pytest.fixture
def dataset() -> DatasetSettings:
    return DatasetSettings(history_length=HISTORY_LENGTH, valid_modulus=VALID_MODULUS)


@pytest.fixture
def synthetic_warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "warehouse.duckdb"), threads=1)
    playlists, playlist_tracks = synthetic_tables(300, seed=5)
    warehouse.replace_rows("playlists", "slice", "0-999", playlists)
    warehouse.replace_rows("playlist_tracks", "slice", "0-999", playlist_tracks)
    return warehouse


@pytest.fixture
def generated_warehouse(tmp_path: Path) -> DuckDBWarehouse:
    from twotower_assets.mpd.generate import generate_mpd
    from twotower_assets.mpd.read import list_slice_files
    from twotower_assets.mpd.tables import slice_tables

    mpd_dir = tmp_path / "mpd"
    generate_mpd(mpd_dir, 2000, seed=3, workers=1)
    warehouse = DuckDBWarehouse(database=str(tmp_path / "generated.duckdb"), threads=1)
    for path in list_slice_files(str(mpd_dir)):
        key = Path(path).name.removeprefix("mpd.slice.").removesuffix(".json")
        tables = slice_tables(key, path)
        warehouse.replace_rows("playlists", "slice", key, tables.playlists)
        warehouse.replace_rows("playlist_tracks", "slice", key, tables.playlist_tracks)
    return warehouse
