-- tracks: the candidate catalogue, one row per track_uri of playlist_tracks.
-- Attributes: the most frequent (name, artist, album, duration) combination seen for the URI,
-- ties broken by the smallest values, so the pick is deterministic (the seed's DISTINCT over all
-- columns could emit one URI twice).
-- Popularity counts training playlists only (pid % valid_modulus != 0): evaluation never leaks.
-- Enrichment: with use_track_enrichment / use_artist_enrichment = 1 the loaded NDJSON tables
-- replace the derived values (missing values 0 / 'NONE', as the seed did); the tables are
-- always present (empty without enrichment files).
WITH attribute_counts AS (
  SELECT
    track_uri, track_name, artist_uri, artist_name, album_uri, album_name, duration_ms,
    COUNT(*) AS occurrences
  FROM playlist_tracks
  GROUP BY track_uri, track_name, artist_uri, artist_name, album_uri, album_name, duration_ms
),
canonical AS (
  SELECT track_uri, track_name, artist_uri, artist_name, album_uri, album_name, duration_ms
  FROM attribute_counts
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY track_uri
    ORDER BY occurrences DESC, track_name, artist_uri, artist_name, album_uri, album_name, duration_ms
  ) = 1
),
training_rows AS (
  SELECT DISTINCT pid, track_uri, artist_uri
  FROM playlist_tracks
  WHERE MOD(pid, {{ valid_modulus }}) != 0
),
track_counts AS (
  SELECT track_uri, COUNT(DISTINCT pid) AS playlists
  FROM training_rows
  GROUP BY track_uri
),
artist_counts AS (
  SELECT artist_uri, COUNT(DISTINCT pid) AS playlists
  FROM training_rows
  GROUP BY artist_uri
)
SELECT
  c.track_uri,
  COALESCE(NULLIF(c.track_name, ''), 'NONE') AS track_name,
  COALESCE(NULLIF(c.artist_uri, ''), 'NONE') AS artist_uri,
  COALESCE(NULLIF(c.artist_name, ''), 'NONE') AS artist_name,
  COALESCE(NULLIF(c.album_uri, ''), 'NONE') AS album_uri,
  COALESCE(NULLIF(c.album_name, ''), 'NONE') AS album_name,
  COALESCE(NULLIF(ARRAY_TO_STRING(ae.artist_genres, ', '), ''), 'NONE') AS artist_genres,
  CAST(IFNULL(c.duration_ms, 0) AS FLOAT64) AS duration_ms,
  CAST(
    IF({{ use_track_enrichment }} = 1, IFNULL(te.track_pop, 0), IFNULL(tc.playlists, 0))
    AS FLOAT64
  ) AS track_pop,
  CAST(
    IF({{ use_artist_enrichment }} = 1, IFNULL(ae.artist_pop, 0), IFNULL(ac.playlists, 0))
    AS FLOAT64
  ) AS artist_pop,
  CAST(IFNULL(ae.artist_followers, 0) AS FLOAT64) AS artist_followers
FROM canonical AS c
LEFT JOIN track_counts AS tc ON tc.track_uri = c.track_uri
LEFT JOIN artist_counts AS ac ON ac.artist_uri = c.artist_uri
LEFT JOIN track_enrichment AS te ON te.track_uri = c.track_uri
LEFT JOIN artist_enrichment AS ae ON ae.artist_uri = c.artist_uri
