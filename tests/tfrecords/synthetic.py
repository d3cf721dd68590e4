"""Synthetic `training_pairs` and `tracks` tables (docs/architecture.md shapes) in real DuckDB.

Used until the warehouse assets land, and by the benchmark: pure SQL, any size, deterministic.
Histories have 1..5 elements; names include unicode, an empty string and a newline.
"""

from __future__ import annotations

from twotower_assets.pipelines.feature_spec import TRAINING_FEATURES


def _track(expr: str) -> dict[str, str]:
    """SQL for every candidate-like attribute of the track numbered by `expr`."""
    return {
        "track_uri": f"'spotify:track:' || ({expr})",
        "track_name": f"CASE WHEN ({expr}) % 17 = 0 THEN 'Canción ' || ({expr}) || ' ♪' "
        f"WHEN ({expr}) % 23 = 0 THEN '' WHEN ({expr}) % 29 = 0 THEN 'two' || chr(10) || 'lines' "
        f"ELSE 'song ' || ({expr}) END",
        "artist_uri": f"'spotify:artist:' || (({expr}) % 37)",
        "artist_name": f"'Artist ' || (({expr}) % 37)",
        "album_uri": f"'spotify:album:' || (({expr}) % 53)",
        "album_name": f"'Album ' || (({expr}) % 53)",
        "artist_genres": f"CASE WHEN ({expr}) % 3 = 0 THEN 'NONE' ELSE 'pop, rock' END",
        "duration_ms": f"(180000 + (({expr}) * 7919) % 120000)",
        "track_pop": f"((({expr}) * 13) % 50)",
        "artist_pop": f"((({expr}) % 37) * 3)",
        "artist_followers": f"((({expr}) % 37) * 1000.0)",
    }


_TYPES = {
    "duration_ms": "BIGINT",
    "track_pop": "DOUBLE",
    "artist_pop": "DOUBLE",
    "artist_followers": "DOUBLE",
}


def create_tables(connection, pairs: int = 300, catalogue: int = 97, modulus: int = 10) -> None:  # noqa: ANN001
    """Create `training_pairs` (pairs rows) and `tracks` (catalogue rows) in a DuckDB connection."""
    # Playlist pid = i // 7 holds track (pid * 31 + q * 7) % catalogue at position q; the pair
    # of row i has its candidate at pos = 1 + i % 7 and the last 5 positions before it as history.
    candidate = _track(f"((i // 7) * 31 + (1 + i % 7) * 7) % {catalogue}")
    history_item = _track(f"((i // 7) * 31 + h * 7) % {catalogue}")
    columns: list[str] = []
    for feature in TRAINING_FEATURES:
        name = feature.name
        if name == "pid":
            columns.append("i // 7 AS pid")
        elif name == "pos":
            columns.append("1 + i % 7 AS pos")
        elif name == "name":
            columns.append(
                "CASE WHEN i % 5 = 0 THEN 'Rock & Roll!! Mix' "
                "WHEN i % 5 = 1 THEN 'chill vibes 2020' WHEN i % 5 = 2 THEN 'Été à Paris' "
                "ELSE 'Workout: HIIT' END AS name"
            )
        elif name == "description_pl":
            columns.append("CASE WHEN i % 4 = 0 THEN '' ELSE 'desc ' || i END AS description_pl")
        elif name == "collaborative":
            columns.append("CASE WHEN i % 6 = 0 THEN 'true' ELSE 'false' END AS collaborative")
        elif feature.role == "candidate":
            columns.append(
                f"CAST({candidate[feature.source_column]} AS "
                f"{'VARCHAR' if feature.dtype == 'string' else 'DOUBLE'}) AS {name}"
            )
        elif feature.shape == "var_len":
            source = {
                "duration_ms_songs_pl": "duration_ms",
                "track_pop_pl": "track_pop",
                "artist_pop_pl": "artist_pop",
                "artists_followers_pl": "artist_followers",
            }.get(name, name.removesuffix("_pl"))
            cast = "VARCHAR" if feature.dtype == "string" else "DOUBLE"
            columns.append(
                f"list_transform(range(greatest(0, i % 7 - 4), 1 + i % 7), "
                f"lambda h: CAST({history_item[source]} AS {cast})) AS {name}"
            )
        else:
            columns.append(f"CAST(1 + i % 7 + (i * 7) % 3 AS DOUBLE) AS {name}")
    connection.execute(
        f"CREATE OR REPLACE TABLE training_pairs AS SELECT {', '.join(columns)}, "
        f"CASE WHEN (i // 7) % {modulus} = 0 THEN 'valid' ELSE 'train' END AS split "
        f"FROM range({pairs}) t(i)"
    )
    track = _track("i")
    connection.execute(
        "CREATE OR REPLACE TABLE tracks AS SELECT "
        + ", ".join(
            f"CAST({sql} AS {_TYPES.get(key, 'VARCHAR')}) AS {key}" for key, sql in track.items()
        )
        + f" FROM range({catalogue}) t(i)"
    )
