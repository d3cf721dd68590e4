-- holdout_hidden: the tracks of each held-out playlist that are not seeds (what a
-- recommender must find). Seeds + hidden = the playlist, by construction and by check.
SELECT t.pid, t.pos, t.track_uri
FROM playlist_tracks AS t
JOIN holdout_playlists AS h ON h.pid = t.pid
LEFT JOIN holdout_seeds AS s ON s.pid = t.pid AND s.pos = t.pos
WHERE s.pid IS NULL
