-- holdout_seeds: the given tracks of each held-out playlist: the first num_seeds positions, or
-- for the random categories num_seeds positions ordered by an integer hash of (pid, pos). The
-- hash is plain INT64 arithmetic (a bijection of pos modulo the prime 1000003), so BigQuery,
-- DuckDB and a Python recount pick the same tracks.
WITH ranked AS (
  SELECT
    t.pid, t.pos, t.track_uri, h.num_seeds,
    ROW_NUMBER() OVER (
      PARTITION BY t.pid
      ORDER BY
        IF(
          h.random_seeds,
          MOD((t.pos + 1) * (MOD(t.pid * 2654435761, 1000003) + 1), 1000003),
          t.pos
        ),
        t.pos
    ) AS seed_rank
  FROM playlist_tracks AS t
  JOIN holdout_playlists AS h ON h.pid = t.pid
)
SELECT pid, pos, track_uri
FROM ranked
WHERE seed_rank <= num_seeds
