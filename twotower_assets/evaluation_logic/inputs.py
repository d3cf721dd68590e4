"""Reading the evaluation's inputs from the warehouse into integer-coded arrays.

Track ids are row numbers of the `tracks` catalogue (ordered by URI). Queries are written once
in BigQuery's dialect and transpiled for the warehouse, like `sql/`; no asset logic here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot

from twotower_assets.evaluation_logic.ragged import Ragged
from twotower_assets.evaluation_logic.two_tower import (
    HISTORY_COLUMNS,
    QueryEncoder,
    QueryFeatures,
    TwoTowerRetriever,
    holdout_query_features,
    pair_query_features,
)
from twotower_assets.pipelines.feature_spec import QUERY_FEATURES


class WarehouseReader(Protocol):
    dialect: str

    def table_ref(self, table: str) -> str: ...
    def query(self, sql: str) -> pa.Table: ...
    def scalar(self, sql: str) -> object: ...


@dataclass(frozen=True)
class Catalogue:
    track_uris: pa.Array
    track_artist: np.ndarray  # artist id of every track id

    @property
    def size(self) -> int:
        return len(self.track_uris)

    def ids(self, uris: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Catalogue ids of `uris`, -1 for a URI the catalogue does not hold."""
        found = pc.index_in(uris, value_set=self.track_uris)
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


@dataclass(frozen=True)
class HoldoutSet:
    pids: np.ndarray
    categories: np.ndarray
    titles: list[str]  # '' when the title is hidden
    seeds: Ragged  # catalogue ids, pos order
    hidden: Ragged
    features: QueryFeatures


@dataclass(frozen=True)
class NextTrackSet:
    pids: np.ndarray
    positions: np.ndarray
    targets: np.ndarray
    history: Ragged  # catalogue ids of the history the query sees
    features: QueryFeatures


@dataclass(frozen=True)
class TrainingPlaylists:
    playlists: Ragged  # catalogue ids per training playlist
    titles: list[str]


@dataclass(frozen=True)
class EvaluationInputs:
    catalogue: Catalogue
    holdout: HoldoutSet
    next_track: NextTrackSet
    training: TrainingPlaylists


def _sql(warehouse: WarehouseReader, bigquery_sql: str, tables: list[str]) -> str:
    for table in tables:
        bigquery_sql = bigquery_sql.replace(f"@{table}", warehouse.table_ref(table))
    if warehouse.dialect == "bigquery":
        return bigquery_sql
    return sqlglot.transpile(bigquery_sql, read="bigquery", write=warehouse.dialect)[0]


def read_catalogue(warehouse: WarehouseReader) -> Catalogue:
    table = warehouse.query(
        _sql(warehouse, "SELECT track_uri, artist_uri FROM @tracks ORDER BY track_uri", ["tracks"])
    )
    if table.num_rows == 0:
        raise ValueError("table tracks is empty: there is no catalogue to recommend from")
    artist = pc.dictionary_encode(table.column("artist_uri").fill_null("")).combine_chunks()
    return Catalogue(
        track_uris=table.column("track_uri").combine_chunks(),
        track_artist=artist.indices.to_numpy().astype(np.int64),
    )


def read_holdout(
    warehouse: WarehouseReader, catalogue: Catalogue, history_length: int
) -> HoldoutSet:
    playlists = warehouse.query(
        _sql(
            warehouse,
            "SELECT pid, category, title_given, name FROM @holdout_playlists ORDER BY pid",
            ["holdout_playlists"],
        )
    )
    if playlists.num_rows == 0:
        raise ValueError("table holdout_playlists is empty: nothing to evaluate")
    columns = ", ".join(
        f"t.{column}" for column in HISTORY_COLUMNS.values() if column != "track_uri"
    )
    seeds = warehouse.query(
        _sql(
            warehouse,
            f"SELECT s.pid, s.pos, s.track_uri, {columns} FROM @holdout_seeds AS s "
            "LEFT JOIN @tracks AS t ON t.track_uri = s.track_uri ORDER BY s.pid, s.pos",
            ["holdout_seeds", "tracks"],
        )
    )
    hidden = warehouse.query(
        _sql(
            warehouse,
            "SELECT pid, pos, track_uri FROM @holdout_hidden ORDER BY pid, pos",
            ["holdout_hidden"],
        )
    )
    pids = playlists.column("pid").to_numpy().astype(np.int64)
    hidden_ids = catalogue.ids(hidden.column("track_uri"))
    if (hidden_ids < 0).any():
        bad = int(np.flatnonzero(hidden_ids < 0)[0])
        raise ValueError(
            f"holdout_hidden track {hidden.column('track_uri')[bad].as_py()} of pid "
            f"{hidden.column('pid')[bad].as_py()} is not in tracks"
        )
    hidden_rows = np.searchsorted(pids, hidden.column("pid").to_numpy())
    seed_rows = np.searchsorted(pids, seeds.column("pid").to_numpy())
    for name, rows, table in (
        ("holdout_hidden", hidden_rows, hidden),
        ("holdout_seeds", seed_rows, seeds),
    ):
        ok = (rows < pids.size) & (
            pids[np.minimum(rows, pids.size - 1)] == table.column("pid").to_numpy()
        )
        if not ok.all():
            raise ValueError(
                f"{name} pid {table.column('pid')[int(np.flatnonzero(~ok)[0])].as_py()} "
                "is not in holdout_playlists"
            )
    seed_ids = catalogue.ids(seeds.column("track_uri"))
    known = seed_ids >= 0  # an unknown seed still shapes the features; it just is not excluded
    title_given = playlists.column("title_given").to_numpy(zero_copy_only=False).astype(bool)
    names = playlists.column("name").fill_null("").to_pylist()
    titles = [name if given else "" for name, given in zip(names, title_given, strict=True)]
    features = holdout_query_features(
        playlists.set_column(
            playlists.column_names.index("name"), "name", pa.array(titles, pa.string())
        ),
        seeds,
        history_length,
    )
    return HoldoutSet(
        pids=pids,
        categories=np.asarray(playlists.column("category").to_pylist(), dtype=object),
        titles=titles,
        seeds=Ragged.from_sorted_groups(seed_rows[known], seed_ids[known], pids.size),
        hidden=Ragged.from_sorted_groups(hidden_rows, hidden_ids, pids.size),
        features=features,
    )


def read_next_track(
    warehouse: WarehouseReader, catalogue: Catalogue, max_pairs: int
) -> NextTrackSet:
    """`valid` pairs of training_pairs, an even deterministic sample of at most `max_pairs`."""
    count = int(
        warehouse.scalar(
            _sql(
                warehouse,
                "SELECT COUNT(*) FROM @training_pairs WHERE split = 'valid'",
                ["training_pairs"],
            )
        )
        or 0
    )
    if count == 0:
        raise ValueError("training_pairs has no 'valid' pairs: next-track recall is undefined")
    stride = max(1, -(-count // max_pairs))
    columns = ", ".join(feature.name for feature in QUERY_FEATURES)
    pairs = warehouse.query(
        _sql(
            warehouse,
            f"SELECT pid, pos, track_uri_can, {columns} FROM @training_pairs "
            f"WHERE split = 'valid' AND MOD(pid * 7 + pos, {stride}) = 0 ORDER BY pid, pos",
            ["training_pairs"],
        )
    )
    history = Ragged.from_arrow(pairs.column("track_uri_pl"), dtype=object)
    history_ids = catalogue.ids(pa.array(history.values.tolist(), pa.string()))
    return NextTrackSet(
        pids=pairs.column("pid").to_numpy().astype(np.int64),
        positions=pairs.column("pos").to_numpy().astype(np.int64),
        targets=catalogue.ids(pairs.column("track_uri_can")),
        history=Ragged(history.offsets, history_ids),
        features=pair_query_features(pairs),
    )


def read_training_playlists(warehouse: WarehouseReader, catalogue: Catalogue) -> TrainingPlaylists:
    """Every training playlist's tracks: the candidates at pos >= 1 plus the track at pos 0."""
    rows = warehouse.query(
        _sql(
            warehouse,
            "SELECT pid, name, track_uri_can AS track_uri FROM @training_pairs "
            "WHERE split = 'train' "
            "UNION ALL SELECT pid, name, track_uri_pl[OFFSET(0)] AS track_uri "
            "FROM @training_pairs WHERE split = 'train' AND pos = 1",
            ["training_pairs"],
        )
    )
    pids = rows.column("pid").to_numpy().astype(np.int64)
    order = np.argsort(pids, kind="stable")
    unique_pids, first, playlist_row = np.unique(
        pids[order], return_index=True, return_inverse=True
    )
    track_ids = catalogue.ids(rows.column("track_uri"))[order]
    known = track_ids >= 0
    names = rows.column("name").fill_null("").to_numpy(zero_copy_only=False)[order]
    return TrainingPlaylists(
        playlists=Ragged.from_sorted_groups(
            playlist_row[known], track_ids[known], unique_pids.size
        ),
        titles=[str(name) for name in names[first]],
    )


def read_inputs(
    warehouse: WarehouseReader, history_length: int, max_next_track_pairs: int
) -> EvaluationInputs:
    catalogue = read_catalogue(warehouse)
    return EvaluationInputs(
        catalogue=catalogue,
        holdout=read_holdout(warehouse, catalogue, history_length),
        next_track=read_next_track(warehouse, catalogue, max_next_track_pairs),
        training=read_training_playlists(warehouse, catalogue),
    )


def read_candidate_embeddings(
    table: pa.Table, catalogue: Catalogue, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings [rows, dim] float32, catalogue id of each row) from the embeddings Parquet."""
    if table.num_rows == 0:
        raise ValueError(f"{source} holds no candidate embeddings")
    column = table.column("embedding").combine_chunks()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if lengths.min() != lengths.max():
        raise ValueError(
            f"{source}: embeddings have {lengths.min()} to {lengths.max()} dimensions; "
            "expected one width"
        )
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32)
    embeddings = values.reshape(table.num_rows, int(lengths[0]))
    ids = catalogue.ids(table.column("track_uri"))
    if (ids < 0).any():
        bad = table.column("track_uri")[int(np.flatnonzero(ids < 0)[0])].as_py()
        raise ValueError(f"{source}: track {bad} is not in the tracks catalogue")
    return embeddings, ids


def two_tower_retriever(
    encode: QueryEncoder, embeddings_table: pa.Table, catalogue: Catalogue, source: str
) -> TwoTowerRetriever:
    embeddings, ids = read_candidate_embeddings(embeddings_table, catalogue, source)
    return TwoTowerRetriever(encode=encode, candidate_embeddings=embeddings, candidate_ids=ids)
