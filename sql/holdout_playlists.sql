-- holdout_playlists: every held-out playlist (pid % valid_modulus = 0) with its RecSys
-- Challenge 2018 category (anchors.md 1.1). The category cycles with pid / valid_modulus, so
-- the ten are equally frequent and the choice is the same on every engine. A playlist too short
-- for its category (it must keep >= 1 hidden track) moves to the largest "title + first k"
-- category it fits (title only at worst).
WITH categories AS (
  SELECT 1 AS category_id, 'title_only' AS category, TRUE AS title_given, 0 AS num_seeds,
    FALSE AS random_seeds
  UNION ALL SELECT 2, 'title_first_1', TRUE, 1, FALSE
  UNION ALL SELECT 3, 'title_first_5', TRUE, 5, FALSE
  UNION ALL SELECT 4, 'first_5', FALSE, 5, FALSE
  UNION ALL SELECT 5, 'title_first_10', TRUE, 10, FALSE
  UNION ALL SELECT 6, 'first_10', FALSE, 10, FALSE
  UNION ALL SELECT 7, 'title_first_25', TRUE, 25, FALSE
  UNION ALL SELECT 8, 'title_random_25', TRUE, 25, TRUE
  UNION ALL SELECT 9, 'title_first_100', TRUE, 100, FALSE
  UNION ALL SELECT 10, 'title_random_100', TRUE, 100, TRUE
),
held_out AS (
  SELECT p.pid, p.name, COUNT(*) AS num_tracks
  FROM playlists AS p
  JOIN playlist_tracks AS t ON t.pid = p.pid
  WHERE MOD(p.pid, {{ valid_modulus }}) = 0
  GROUP BY p.pid, p.name
),
assigned AS (
  SELECT
    h.pid, h.name, h.num_tracks,
    c.category, c.title_given, c.num_seeds, c.random_seeds
  FROM held_out AS h
  CROSS JOIN categories AS c
  WHERE c.num_seeds < h.num_tracks
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY h.pid
    ORDER BY
      IF(c.category_id = MOD(DIV(h.pid, {{ valid_modulus }}), 10) + 1, 0, 1),
      IF(c.title_given AND NOT c.random_seeds, 0, 1),
      c.num_seeds DESC
  ) = 1
)
SELECT
  pid,
  category,
  title_given,
  CAST(num_seeds AS INT64) AS num_seeds,
  CAST(num_tracks - num_seeds AS INT64) AS num_hidden,
  IF(title_given, IFNULL(name, ''), '') AS name,
  random_seeds
FROM assigned
