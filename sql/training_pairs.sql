-- training_pairs: one row per (playlist, candidate position pos >= 1), the seed's fan-out
-- (seed_system.md 2.5-2.9) in linear window functions instead of a self-join per prefix.
-- Candidate: the track at pos, features from `tracks` (the catalogue the candidate tower sees).
-- History: the last history_length tracks before pos, oldest first, as parallel arrays.
-- Short histories are KEPT (pos 1..history_length-1 give 1..history_length-1 elements); the seed
-- dropped them. pos_pl holds the history positions so the no-leak check can verify them.
-- Prefix aggregates (n_songs_pl, num_artists_pl by name, num_albums_pl by URI,
-- duration_ms_seed_pl) cover the whole prefix; distinct counts are running sums of
-- first-occurrence flags. Popularity features come from `tracks` (training split only).
WITH track_rows AS (
  SELECT
    pt.pid, pt.pos,
    t.track_uri, t.track_name, t.artist_uri, t.artist_name, t.album_uri, t.album_name,
    t.artist_genres, t.duration_ms, t.track_pop, t.artist_pop, t.artist_followers
  FROM playlist_tracks AS pt
  JOIN tracks AS t ON t.track_uri = pt.track_uri
),
flagged AS (
  SELECT
    r.*,
    IF(ROW_NUMBER() OVER (PARTITION BY r.pid, r.artist_name ORDER BY r.pos) = 1, 1, 0)
      AS first_of_artist,
    IF(ROW_NUMBER() OVER (PARTITION BY r.pid, r.album_uri ORDER BY r.pos) = 1, 1, 0)
      AS first_of_album
  FROM track_rows AS r
),
windowed AS (
  SELECT
    pid, pos,
    track_uri, track_name, artist_uri, artist_name, album_uri, album_name, artist_genres,
    duration_ms, track_pop, artist_pop, artist_followers,
    COUNT(*) OVER prefix AS n_songs,
    SUM(first_of_artist) OVER prefix AS num_artists,
    SUM(first_of_album) OVER prefix AS num_albums,
    SUM(duration_ms) OVER prefix AS duration_prefix,
    ARRAY_AGG(pos) OVER history AS pos_pl,
    ARRAY_AGG(track_uri) OVER history AS track_uri_pl,
    ARRAY_AGG(track_name) OVER history AS track_name_pl,
    ARRAY_AGG(artist_uri) OVER history AS artist_uri_pl,
    ARRAY_AGG(artist_name) OVER history AS artist_name_pl,
    ARRAY_AGG(album_uri) OVER history AS album_uri_pl,
    ARRAY_AGG(album_name) OVER history AS album_name_pl,
    ARRAY_AGG(artist_genres) OVER history AS artist_genres_pl,
    ARRAY_AGG(duration_ms) OVER history AS duration_ms_songs_pl,
    ARRAY_AGG(track_pop) OVER history AS track_pop_pl,
    ARRAY_AGG(artist_pop) OVER history AS artist_pop_pl,
    ARRAY_AGG(artist_followers) OVER history AS artists_followers_pl
  FROM flagged
  WINDOW
    prefix AS (PARTITION BY pid ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
    history AS (
      PARTITION BY pid ORDER BY pos
      ROWS BETWEEN {{ history_length }} PRECEDING AND 1 PRECEDING
    )
)
SELECT
  w.pid,
  w.pos,
  IF(MOD(w.pid, {{ valid_modulus }}) = 0, 'valid', 'train') AS split,
  COALESCE(NULLIF(p.name, ''), 'NONE') AS name,
  IFNULL(p.description, '') AS description_pl,
  IF(p.collaborative, 'true', 'false') AS collaborative,
  CAST(w.n_songs AS FLOAT64) AS n_songs_pl,
  CAST(w.num_artists AS FLOAT64) AS num_artists_pl,
  CAST(w.num_albums AS FLOAT64) AS num_albums_pl,
  CAST(w.duration_prefix AS FLOAT64) AS duration_ms_seed_pl,
  w.track_uri_pl,
  w.track_name_pl,
  w.artist_uri_pl,
  w.artist_name_pl,
  w.album_uri_pl,
  w.album_name_pl,
  w.artist_genres_pl,
  w.duration_ms_songs_pl,
  w.track_pop_pl,
  w.artist_pop_pl,
  w.artists_followers_pl,
  w.track_uri AS track_uri_can,
  w.track_name AS track_name_can,
  w.artist_uri AS artist_uri_can,
  w.artist_name AS artist_name_can,
  w.album_uri AS album_uri_can,
  w.album_name AS album_name_can,
  w.artist_genres AS artist_genres_can,
  w.duration_ms AS duration_ms_can,
  w.track_pop AS track_pop_can,
  w.artist_pop AS artist_pop_can,
  w.artist_followers AS artist_followers_can,
  w.pos_pl
FROM windowed AS w
JOIN playlists AS p ON p.pid = w.pid
WHERE w.pos >= 1
