"""A synthetic MPD: slice files in exactly the MPD layout, realistic and learnable.

Realistic: calibrated to the published MPD statistics (reference/mpd_stats.md): skewed lengths
(mean ~66, 5..250, a few longer), a long-tailed track popularity (a popular head plus a deep
catalogue whose tracks mostly land in one playlist), catalogue sizes in the MPD's ratios to the
number of playlists, ~2% descriptions, titles from a Zipf-shaped title distribution whose head is
the real one ("country", "chill", "rap", ...) and whose tail is invented, in surface variants.
Learnable: every playlist has a theme (its title's theme) that picks genres and eras; artists own
albums own tracks; tracks come in runs of the same album; so co-occurrence carries real signal.
Deterministic per seed (each slice has its own numpy random stream, whatever the worker count)
and streaming: the catalogue is a few flat integer arrays; names and URIs are hashed from ids.
"""

from __future__ import annotations

import hashlib
import math
import os
import string
from bisect import bisect_left, bisect_right
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

SLICE_SIZE = 1000
FULL_SCALE = 1_000_000
_M64 = (1 << 64) - 1
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Byte -> base62 character (a slight bias toward the first 8 characters is harmless here).
_BASE62_TABLE = np.frombuffer(
    bytes(ord(_BASE62[value % 62]) for value in range(256)), dtype=np.uint8
)

GENRES = (
    "pop", "rap", "country", "rock", "rnb", "edm", "indie", "latin", "christian", "holiday",
    "metal", "jazz", "kids", "lofi", "alternative", "reggae", "kpop", "classical", "folk", "punk",
)  # fmt: skip
# Share of catalogue artists per genre (popular genres are also bigger).
GENRE_SIZE = (14, 12, 9, 10, 7, 7, 8, 5, 4, 2, 4, 3, 2, 4, 5, 2, 2, 3, 4, 3)
ERAS = ("60s-70s", "80s", "90s", "00s", "2010-14", "2015-17")
ERA_WEIGHTS = (8, 7, 12, 20, 26, 27)


@dataclass(frozen=True)
class Theme:
    """What a playlist is about: its title distribution and the content that title implies.

    `titles` are normalized titles with their share of ALL playlists in percent (the head of the
    MPD's title distribution); `tail` is the percent of all playlists of this theme titled from
    the theme's invented long tail (the personal theme takes whatever is left to 100).
    """

    titles: tuple[tuple[str, float], ...]
    tail: float
    mix: dict[str, float]
    eras: tuple[int, ...] | None
    keywords: tuple[str, ...]


THEMES: tuple[Theme, ...] = (
    Theme((("country", 1.0), ("country music", 0.12), ("classic country", 0.06),
           ("country jams", 0.05), ("country songs", 0.05), ("old country", 0.04),
           ("new country", 0.04)), 0.9, {"country": 0.9, "folk": 0.1}, None,
          ("country", "truck", "backroads", "whiskey", "boots", "southern", "porch", "cowboy")),
    Theme((("chill", 1.0), ("relax", 0.15), ("chill vibes", 0.1), ("chillin", 0.06),
           ("mellow", 0.04), ("chill songs", 0.04), ("sunday morning", 0.03)), 0.9,
          {"lofi": 0.35, "indie": 0.3, "rnb": 0.2, "pop": 0.15}, None,
          ("chill", "mellow", "calm", "lazy", "sunday", "coffee", "rainy day", "slow")),
    Theme((("rap", 0.85), ("hip hop", 0.3), ("trap", 0.08), ("rap music", 0.04),
           ("hip-hop", 0.04)), 0.7, {"rap": 1.0}, (3, 4, 5),
          ("rap", "trap", "bars", "hip hop", "hood", "flow", "beats")),
    Theme((("workout", 0.85), ("gym", 0.3), ("running", 0.2), ("lifting", 0.06),
           ("workout mix", 0.05), ("cardio", 0.05), ("run", 0.05)), 0.6,
          {"rap": 0.4, "edm": 0.35, "pop": 0.25}, (4, 5),
          ("workout", "gym", "run", "lift", "pump", "sweat", "beast mode", "cardio")),
    Theme((("oldies", 0.81), ("old school", 0.25), ("classics", 0.2), ("80s", 0.15),
           ("70s", 0.1), ("60s", 0.08), ("golden oldies", 0.04), ("motown", 0.04)), 0.5,
          {"rock": 0.4, "pop": 0.3, "rnb": 0.3}, (0, 1),
          ("oldies", "old school", "classics", "golden", "retro", "vintage", "motown")),
    Theme((("christmas", 0.8), ("christmas music", 0.15), ("xmas", 0.06),
           ("christmas songs", 0.05), ("holiday", 0.04), ("christmas playlist", 0.03)), 0.35,
          {"holiday": 1.0}, None,
          ("christmas", "xmas", "holiday", "winter", "snow", "santa", "merry")),
    Theme((("rock", 0.68), ("classic rock", 0.3), ("rock n roll", 0.04), ("hard rock", 0.03),
           ("rock music", 0.03)), 0.5, {"rock": 0.8, "metal": 0.1, "alternative": 0.1},
          (0, 1, 2), ("rock", "classic rock", "guitar", "riffs", "rock n roll", "garage")),
    Theme((("party", 0.62), ("pregame", 0.15), ("dance", 0.1), ("turn up", 0.08),
           ("party playlist", 0.04), ("party music", 0.03)), 0.6,
          {"pop": 0.4, "edm": 0.3, "rap": 0.3}, (4, 5),
          ("party", "pregame", "dance", "turn up", "club", "friday", "saturday")),
    Theme((("throwback", 0.59), ("throwbacks", 0.4), ("90s", 0.2), ("2000s", 0.2),
           ("early 2000s", 0.05), ("nostalgia", 0.05), ("00s", 0.03)), 0.6,
          {"pop": 0.4, "rap": 0.3, "rnb": 0.3}, (2, 3),
          ("throwback", "throwbacks", "90s", "2000s", "nostalgia", "middle school")),
    Theme((("jams", 0.51), ("bops", 0.06), ("bangers", 0.06), ("my jams", 0.05),
           ("good songs", 0.05)), 0.5, {"pop": 0.4, "rap": 0.3, "rnb": 0.15, "indie": 0.15},
          None, ("jams", "bops", "bangers", "tunes", "hits")),
    Theme((("worship", 0.51), ("gospel", 0.08), ("christian", 0.08), ("praise", 0.06),
           ("church", 0.06), ("jesus", 0.05), ("worship music", 0.04)), 0.4,
          {"christian": 1.0}, None, ("worship", "praise", "jesus", "faith", "grace", "church")),
    Theme((("summer", 0.49), ("summer 2017", 0.1), ("beach", 0.1), ("summer vibes", 0.08),
           ("summer 2016", 0.06), ("summer jams", 0.04)), 0.6,
          {"pop": 0.4, "edm": 0.3, "latin": 0.15, "reggae": 0.15}, (4, 5),
          ("summer", "beach", "sun", "pool", "vacation", "island", "tan")),
    Theme((("feels", 0.47), ("sad", 0.3), ("sad songs", 0.06), ("in my feels", 0.05),
           ("heartbreak", 0.04), ("emotional", 0.03), ("sad af", 0.03)), 0.7,
          {"rnb": 0.35, "indie": 0.35, "pop": 0.3}, (4, 5),
          ("feels", "sad", "heartbreak", "tears", "lonely", "crying", "moody")),
    Theme((("new", 0.46), ("new music", 0.06), ("new stuff", 0.04), ("new songs", 0.04),
           ("fresh", 0.03), ("new playlist", 0.03)), 0.4,
          {"pop": 0.4, "rap": 0.3, "edm": 0.15, "indie": 0.15}, (5,),
          ("new", "fresh", "latest", "current", "now")),
    Theme((("disney", 0.42), ("kids", 0.08), ("musicals", 0.05), ("disney songs", 0.04),
           ("disney music", 0.03)), 0.3, {"kids": 1.0}, None,
          ("disney", "kids", "princess", "musicals", "broadway", "cartoon")),
    Theme((("lit", 0.41), ("🔥", 0.06), ("lit af", 0.05), ("turnt", 0.04), ("🔥🔥🔥", 0.04),
           ("fire", 0.03)), 0.4, {"rap": 0.7, "edm": 0.3}, (5,),
          ("lit", "turnt", "fire", "savage", "hype", "litty")),
    Theme((("spanish", 0.15), ("latin", 0.12), ("reggaeton", 0.12), ("latino", 0.03),
           ("musica", 0.05)), 0.5, {"latin": 1.0}, None,
          ("latin", "spanish", "reggaeton", "salsa", "fiesta", "musica")),
    Theme((("edm", 0.25), ("house", 0.06), ("electronic", 0.06), ("dubstep", 0.05),
           ("edm mix", 0.03)), 0.5, {"edm": 1.0}, None,
          ("edm", "house", "bass", "drop", "rave", "electro", "festival")),
    Theme((("slow jams", 0.15), ("r&b", 0.12), ("rnb", 0.08), ("soul", 0.06), ("r&b soul", 0.03)),
          0.5, {"rnb": 1.0}, None, ("r&b", "rnb", "soul", "slow jams", "smooth", "bae")),
    Theme((("indie", 0.25), ("alternative", 0.2), ("alt", 0.06), ("indie rock", 0.05)), 0.7,
          {"indie": 0.6, "alternative": 0.4}, None,
          ("indie", "alt", "alternative", "indie rock", "hipster", "vinyl")),
    Theme((("metal", 0.15), ("heavy metal", 0.04), ("hardcore", 0.03)), 0.3, {"metal": 1.0},
          None, ("metal", "heavy", "hardcore", "thrash", "doom")),
    Theme((("jazz", 0.15), ("blues", 0.06), ("smooth jazz", 0.03)), 0.25, {"jazz": 1.0}, (0, 1),
          ("jazz", "blues", "swing", "smooth", "lounge")),
    Theme((("sleep", 0.3), ("study", 0.3), ("focus", 0.08), ("classical", 0.08), ("piano", 0.06),
           ("study music", 0.05), ("homework", 0.05), ("instrumental", 0.05)), 0.6,
          {"classical": 0.6, "lofi": 0.4}, None,
          ("study", "focus", "sleep", "piano", "homework", "reading", "calm")),
    Theme((("reggae", 0.1), ("island vibes", 0.02)), 0.2, {"reggae": 1.0}, None,
          ("reggae", "island", "roots", "irie")),
    Theme((("kpop", 0.1), ("k-pop", 0.05), ("bts", 0.05)), 0.25, {"kpop": 1.0}, (4, 5),
          ("kpop", "k-pop", "idol", "bias")),
    Theme((("acoustic", 0.15), ("folk", 0.08), ("acoustic covers", 0.03)), 0.4,
          {"folk": 0.7, "indie": 0.3}, None, ("acoustic", "folk", "coffeehouse", "campfire")),
    Theme((("emo", 0.12), ("pop punk", 0.1), ("punk", 0.06)), 0.4,
          {"punk": 0.8, "alternative": 0.2}, (3, 4), ("emo", "punk", "pop punk", "angst", "scene")),
    Theme((("pop", 0.2), ("top hits", 0.04), ("pop music", 0.03)), 0.4, {"pop": 1.0}, (4, 5),
          ("pop", "hits", "top 40", "radio", "charts")),
    # Personal: a taste of one or two genres; mostly invented titles (the bulk of the tail).
    Theme((("music", 0.3), ("vibes", 0.3), ("road trip", 0.3), ("good vibes", 0.25),
           ("favorites", 0.25), ("car", 0.2), ("songs", 0.2), ("random", 0.2), ("mix", 0.2),
           ("love", 0.2), ("happy", 0.2), ("my playlist", 0.15), ("2017", 0.15), ("playlist", 0.15),
           ("driving", 0.12), ("2016", 0.1), ("wedding", 0.1), ("shower", 0.1), ("favs", 0.1),
           ("dinner", 0.05)), 0.0, {}, None, ()),
)  # fmt: skip
_PERSONAL_THEME = len(THEMES) - 1

_WORDS = (
    "love", "night", "summer", "fire", "dream", "heart", "road", "light", "blue", "gold",
    "wild", "river", "city", "moon", "sun", "rain", "young", "home", "ghost", "sweet", "dance",
    "girl", "boy", "baby", "time", "life", "mind", "soul", "star", "sky", "ocean", "stone",
    "shadow", "fever", "honey", "midnight", "echo", "velvet", "neon", "paper", "silver", "storm",
    "west", "south", "highway", "money", "party", "lonely", "crazy", "forever", "tonight",
    "late", "drive", "good", "bad", "sad", "happy", "mood", "vibes", "feelings", "memories",
    "morning", "sunday", "friday", "weekend", "cruise", "escape", "bliss", "chaos", "magic",
    "lazy", "golden", "electric", "cosmic", "sunset", "sunrise", "winter", "spring", "autumn",
    "coffee", "rainy", "random", "songs", "tunes", "jams", "music", "stuff", "things", "hits",
)  # fmt: skip
_SUFFIXES = ("mix", "vibes", "playlist", "songs", "2017", "faves", "stuff", "jams", "music")
_SYLLABLES = (
    "ka", "lo", "mi", "ra", "ven", "tor", "sa", "lin", "do", "rey", "ja", "nel", "ko", "bri",
    "an", "ta", "vi", "mo", "zen", "el", "ly", "ro", "na", "dre", "quin", "sol", "ber", "fa",
    "gi", "hal", "is", "ju", "ke", "lu", "mar", "no", "pe", "ri", "su", "te", "ul", "xa", "yo",
)  # fmt: skip
_EMOJI = (
    "🔥", "💯", "✨", "🎶", "❤️", "😎", "🌙", "☀️", "💔", "🌴", "🤘", "😭", "🎧", "💕", "🙌", "🌊",
)  # fmt: skip
_DESCRIPTIONS = (
    "songs for the drive", "my favorite songs right now", "for when you need to focus",
    "good music only", "the best of the best", "updated weekly", "for the gym", "late nights",
    "rainy day music", "sing along", "tunes for the weekend", "all the feels",
)  # fmt: skip

# --- Track popularity --------------------------------------------------------------------------
# Head picks: genre -> artist (Zipf, exponent > 1 keeps the head stable with N) -> one of the
# artist's head tracks (Zipf: first tracks are the hits) -> a run along its album.
_ARTIST_ZIPF_EXPONENT = 1.02
_ARTIST_ZIPF_OFFSET = 6.0
_MAX_ARTIST_TRACKS = 600
_TRACK_ZIPF = np.cumsum(1.0 / (np.arange(_MAX_ARTIST_TRACKS) + 1.0) ** 0.9)
_RUNS = np.array([1, 2, 3, 4, 5, 6, 8])
_RUN_CUM = np.cumsum([0.52, 0.18, 0.1, 0.07, 0.05, 0.04, 0.04])
# Deep picks (the long tail): an artist with a flat preference, then a uniform track of the
# artist's deep catalogue (album tracks nobody else plays); the catalogue is large enough that
# most deep tracks drawn at all are drawn once, which is the MPD's long tail.
_DEEP_PICK_SHARE = 0.03
_DEEP_ARTIST_EXPONENT = 0.3
_DEEP_TRACKS_MEAN = 17.0
_DEEP_ALBUM_SIZE = 12
_DEEP_RUNS = np.array([1, 2, 3])
_DEEP_RUN_CUM = np.cumsum([0.85, 0.11, 0.04])
# Catalogue size per playlist (artists), in the full MPD's ratio (296k artists per 1M).
_ARTISTS_PER_PLAYLIST = 0.29
_MIN_ARTISTS_PER_GENRE = 12
_LENGTH_MU, _LENGTH_SIGMA = 3.97, 0.86
# Titles: invented tail titles per playlist count (the pool grows with N, sublinearly).
_TITLE_POOL_BASE = 200
_TITLE_POOL_RATE = 0.0115
_TITLE_ZIPF_FLATNESS = 3.0


def _mix(value: int) -> int:
    """splitmix64: a cheap, well-spread integer hash (names and URIs derive from ids)."""
    value = (value + 0x9E3779B97F4A7C15) & _M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _M64
    return value ^ (value >> 31)


def _mix_array(values: np.ndarray) -> np.ndarray:
    """splitmix64 over a uint64 array (numpy integer arithmetic wraps modulo 2**64)."""
    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: str
    playlists: int
    tracks: int
    files: list[str]
    seed: int


class Catalogue:
    """Artists (by genre and era) -> albums -> tracks as contiguous id ranges in flat arrays.

    Each artist's albums are its head albums (singles and records with the hits) followed by its
    deep albums (the long tail); `deep_first_track[a]` splits the artist's track range.
    """

    def __init__(self, playlists: int, seed: int) -> None:
        self.seed = seed & _M64
        rng = np.random.default_rng([self.seed, 0xC47A109E])
        artists_total = max(
            len(GENRES) * _MIN_ARTISTS_PER_GENRE, round(playlists * _ARTISTS_PER_PLAYLIST)
        )
        counts = np.array(
            [
                max(_MIN_ARTISTS_PER_GENRE, round(artists_total * size / sum(GENRE_SIZE)))
                for size in GENRE_SIZE
            ]
        )
        self.genre_first_artist = np.concatenate([[0], np.cumsum(counts)])
        artists = int(self.genre_first_artist[-1])
        rank = np.arange(artists) - np.repeat(self.genre_first_artist[:-1], counts)
        self.artist_genre = np.repeat(np.arange(len(GENRES)), counts)
        era_p = np.array(ERA_WEIGHTS, dtype=float) / sum(ERA_WEIGHTS)
        self.artist_era = rng.choice(len(ERAS), size=artists, p=era_p)
        # Popular artists have more head albums; the tail one or two.
        mean_albums = 14.0 / (1.0 + rank / 4.0) ** 1.5
        head_albums = 1 + np.floor(rng.gamma(3.0, mean_albums / 3.0)).astype(np.int64)
        deep_tracks = 1 + rng.poisson(_DEEP_TRACKS_MEAN - 1, size=artists)
        deep_albums = (deep_tracks + _DEEP_ALBUM_SIZE - 1) // _DEEP_ALBUM_SIZE
        self.artist_first_album = np.concatenate([[0], np.cumsum(head_albums + deep_albums)])
        albums = int(self.artist_first_album[-1])
        album_artist = np.repeat(np.arange(artists), head_albums + deep_albums)
        local = np.arange(albums) - self.artist_first_album[album_artist]
        is_deep = local >= head_albums[album_artist]
        # Popular artists release records; the tail mostly singles.
        kind = rng.random(albums) + 0.5 / (1.0 + rank[album_artist] / 30.0)
        head_size = np.where(
            kind < 0.7,
            1,
            np.where(kind < 0.9, rng.integers(2, 4, albums), rng.integers(4, 9, albums)),
        )
        # The first record of a popular artist is a real album: its picks spread over tracks.
        first_size = np.ceil(10.0 / (1.0 + rank / 8.0)).astype(np.int64)
        head_size = np.where(local == 0, np.maximum(head_size, first_size[album_artist]), head_size)
        deep_index = local - head_albums[album_artist]
        deep_size = np.minimum(
            _DEEP_ALBUM_SIZE, deep_tracks[album_artist] - _DEEP_ALBUM_SIZE * deep_index
        )
        sizes = np.where(is_deep, deep_size, head_size)
        self.album_first_track = np.concatenate([[0], np.cumsum(sizes)])
        self.artist_first_track = self.album_first_track[self.artist_first_album]
        self.deep_first_track = self.album_first_track[self.artist_first_album[:-1] + head_albums]
        self.head_cum, self.head_bounds = self._genre_cum(
            1.0 / (rank + _ARTIST_ZIPF_OFFSET) ** _ARTIST_ZIPF_EXPONENT
        )
        self.deep_cum, self.deep_bounds = self._genre_cum(
            1.0 / (rank + 1.0) ** _DEEP_ARTIST_EXPONENT
        )

    def _genre_cum(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative weights over all artists (in genre order) and each genre's [lo, hi)."""
        cum = np.cumsum(weights)
        first = self.genre_first_artist
        lo = np.where(first[:-1] > 0, cum[np.maximum(first[:-1] - 1, 0)], 0.0)
        return cum, np.stack([lo, cum[first[1:] - 1]], axis=1)

    @property
    def artists(self) -> int:
        return len(self.artist_era)

    @property
    def albums(self) -> int:
        return len(self.album_first_track) - 1

    @property
    def tracks(self) -> int:
        return int(self.album_first_track[-1])

    def album_of(self, tracks: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.album_first_track, tracks, side="right") - 1

    def artist_of(self, tracks: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.artist_first_track, tracks, side="right") - 1

    def pick_artists(
        self, genres: np.ndarray, u: np.ndarray, cum: np.ndarray, bounds: np.ndarray
    ) -> np.ndarray:
        lo, hi = bounds[genres, 0], bounds[genres, 1]
        picked = np.searchsorted(cum, lo + u * (hi - lo), side="right")
        first = self.genre_first_artist
        return np.clip(picked, first[genres], first[genres + 1] - 1)

    def uris(self, kind: int, ids: np.ndarray) -> list[str]:
        """22 base62 characters hashed from (seed, kind, id): stable, unique in practice."""
        base = np.uint64(((self.seed << 40) ^ (kind << 36)) & _M64)
        first = _mix_array(ids.astype(np.uint64) ^ base)
        raw = np.stack(
            [first, _mix_array(first), _mix_array(first ^ np.uint64(0x5BD1E995))], axis=1
        )
        text = _BASE62_TABLE[raw.view(np.uint8).reshape(len(ids), 24)[:, :22]].tobytes()
        return [text[i : i + 22].decode("ascii") for i in range(0, len(text), 22)]


def _invented_word(hashed: int) -> str:
    count = 2 + hashed % 2
    return "".join(_SYLLABLES[(hashed >> (8 * i + 3)) % len(_SYLLABLES)] for i in range(count))


def _artist_name(hashed: int) -> str:
    first = _invented_word(hashed).capitalize()
    second = _invented_word(hashed >> 20).capitalize()
    style = hashed % 10
    if style < 4:
        return f"{first} {second}"
    if style < 6:
        return f"The {_WORDS[(hashed >> 33) % len(_WORDS)].capitalize()} {second}s"
    if style == 6:
        return f"Lil {first}"
    if style == 7:
        return f"DJ {first}"
    return first


def _phrase(hashed: int, quirks: bool) -> str:
    words = [_WORDS[(hashed >> (7 * i)) % len(_WORDS)] for i in range(1 + hashed % 3)]
    if hashed % 7 == 0:
        words.append(_invented_word(hashed >> 24))
    text = " ".join(word.capitalize() for word in words)
    if quirks:
        quirk = (hashed >> 40) % 200
        if quirk == 0:
            text += " "  # real names carry trailing spaces
        elif quirk == 1:
            text += " " + _EMOJI[(hashed >> 48) % len(_EMOJI)]
        elif quirk < 6:
            text += " - Remastered"
        elif quirk < 14:
            text += f" (feat. {_invented_word(hashed >> 50).capitalize()})"
    return text


# --- Titles ------------------------------------------------------------------------------------
def _title_tables() -> tuple[np.ndarray, list[list[float]], list[list[str]], np.ndarray]:
    """Theme weights (percent of playlists), canonical title cums and the tail probability."""
    heads = [sum(share for _, share in theme.titles) for theme in THEMES]
    tails = [theme.tail for theme in THEMES]
    tails[_PERSONAL_THEME] = 100.0 - sum(heads) - sum(tails)
    weights = np.array(heads) + np.array(tails)
    title_cums = [np.cumsum([share for _, share in theme.titles]).tolist() for theme in THEMES]
    names = [[title for title, _ in theme.titles] for theme in THEMES]
    return weights, title_cums, names, np.array(tails) / weights


_THEME_WEIGHTS, _TITLE_CUMS, _TITLE_NAMES, _TAIL_PROBABILITY = _title_tables()
_THEME_CUM = np.cumsum(_THEME_WEIGHTS)
_TAIL_SHARE = _THEME_WEIGHTS * _TAIL_PROBABILITY / 100.0


def _mix_matrix() -> tuple[np.ndarray, np.ndarray]:
    """Per theme: the genre distribution (rows) and the allowed eras (all for None)."""
    mixes = np.zeros((len(THEMES), len(GENRES)))
    eras = np.ones((len(THEMES), len(ERAS)), dtype=bool)
    for row, theme in enumerate(THEMES):
        for genre, weight in theme.mix.items():
            mixes[row, GENRES.index(genre)] = weight
        if theme.eras is not None:
            eras[row] = False
            eras[row, list(theme.eras)] = True
    return mixes, eras


_THEME_MIX, _THEME_ERAS = _mix_matrix()
_GENRE_CUM = np.cumsum(GENRE_SIZE) / sum(GENRE_SIZE)
_GENRE_CUM_LIST = _GENRE_CUM.tolist()
_ERA_CUM = np.cumsum(ERA_WEIGHTS) / sum(ERA_WEIGHTS)


def _tail_title(seed: int, theme: int, index: int) -> str:
    """An invented normalized title, a pure function of (seed, theme, index)."""
    hashed = _mix(seed ^ 0x7171 ^ (theme << 52) ^ (index << 8))
    keywords = THEMES[theme].keywords
    word = _WORDS[(hashed >> 8) % len(_WORDS)]
    other = _WORDS[(hashed >> 16) % len(_WORDS)]
    pattern = hashed % 12
    if theme == _PERSONAL_THEME and pattern < 2:
        # "indie mix", "rap vibes": a personal title that names the taste.
        genre = GENRES[bisect_left(_GENRE_CUM_LIST, ((hashed >> 24) % 1000) / 1000.0)]
        return f"{genre} {_SUFFIXES[(hashed >> 36) % len(_SUFFIXES)]}"
    if keywords and pattern < 5:
        keyword = keywords[(hashed >> 28) % len(keywords)]
        return f"{keyword} {word}" if pattern % 2 else f"{word} {keyword}"
    if keywords and pattern == 5:
        return f"{keywords[(hashed >> 28) % len(keywords)]} {2010 + (hashed >> 40) % 8}"
    if pattern < 9:
        return f"{word} {other}"
    if pattern == 11 and hashed % 3 == 0:
        return word
    if pattern in (8, 11):
        return f"{word} {other} {_WORDS[(hashed >> 44) % len(_WORDS)]}"
    if pattern == 9:
        return f"{_invented_word(hashed >> 20)}'s {_SUFFIXES[(hashed >> 36) % len(_SUFFIXES)]}"
    return _invented_word(hashed >> 20)


def _surface(rng: np.random.Generator, title: str) -> str:
    """A surface variant, as people type titles: case, '!', stray spaces, '_' joins, emoji."""
    case, decoration, extra = rng.random(3)
    if case < 0.18:
        title = string.capwords(title)
    elif case < 0.23:
        title = title.capitalize()
    elif case < 0.26:
        title = title.upper()
    elif case < 0.265:  # "cOuNtRy": rare, nearly always a new raw title
        flips = _mix(int(extra * (1 << 53)))
        title = "".join(
            char.upper() if flips >> (i % 60) & 1 else char for i, char in enumerate(title)
        )
    if decoration < 0.92:
        return title
    count = 1 + int(extra * 3)
    emoji = _EMOJI[int(extra * 997) % 6]
    if decoration < 0.935:
        return title + "!" * count
    if decoration < 0.95:
        return title + " "
    if decoration < 0.96:
        return title + "." * count
    if decoration < 0.97:
        return "#" + title if " " not in title else title.replace(" ", "_")
    if decoration < 0.977:
        return title.replace(" ", "  ") + " " * count
    if decoration < 0.984:
        return f"~{title}~"
    if decoration < 0.99:
        return f"*{title}*"
    if decoration < 0.997:  # emoji change even the normalized title, as in the MPD
        return title + " " + emoji * count
    return emoji + " " + title


def _titles(rng: np.random.Generator, themes: np.ndarray, playlists: int, seed: int) -> list[str]:
    pool_total = _TITLE_POOL_BASE + _TITLE_POOL_RATE * playlists
    choice, pick, zipf = rng.random((3, len(themes)))
    names = []
    for theme, c, p, z in zip(themes.tolist(), choice, pick, zipf, strict=True):
        if c < _TAIL_PROBABILITY[theme]:
            # Zipf(1) with an offset over the theme's pool (inverse CDF): a flat head, no
            # invented title ever as common as the real top titles.
            pool = max(8, int(pool_total * _TAIL_SHARE[theme]))
            offset = max(2.0, pool / _TITLE_ZIPF_FLATNESS)
            index = min(pool - 1, int(offset * ((pool + offset) / offset) ** z - offset))
            title = _tail_title(seed, theme, index)
        else:
            cum = _TITLE_CUMS[theme]
            title = _TITLE_NAMES[theme][bisect_right(cum, p * cum[-1])]
        names.append(_surface(rng, title))
    return names


# --- Tracks ------------------------------------------------------------------------------------
def _lengths(rng: np.random.Generator, count: int) -> np.ndarray:
    lengths = np.zeros(count, dtype=np.int64)
    bad = np.ones(count, dtype=bool)
    while bad.any():
        lengths[bad] = rng.lognormal(_LENGTH_MU, _LENGTH_SIGMA, int(bad.sum())).astype(np.int64)
        bad = (lengths < 5) | (lengths > 250)
    long = rng.random(count) < 0.001  # edits after sampling let a few playlists grow past 250
    lengths[long] = rng.integers(251, 376, int(long.sum()))
    return lengths


def _candidates(
    rng: np.random.Generator,
    catalogue: Catalogue,
    playlist_ids: np.ndarray,
    picks: np.ndarray,
    genre_cum: np.ndarray,
    eras_ok: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (playlist, track) rows in pick order: picks expanded into album runs."""
    owner = np.repeat(playlist_ids, picks)
    u = rng.random((6, len(owner)))
    genres = (genre_cum[owner] < u[0][:, None]).sum(axis=1)
    genres = np.minimum(genres, len(GENRES) - 1)
    deep = u[1] < _DEEP_PICK_SHARE
    artists = np.where(
        deep,
        catalogue.pick_artists(genres, u[2], catalogue.deep_cum, catalogue.deep_bounds),
        catalogue.pick_artists(genres, u[2], catalogue.head_cum, catalogue.head_bounds),
    )
    # Off-era artists are mostly skipped, so an era theme stays in its era.
    keep = eras_ok[owner, catalogue.artist_era[artists]] | (u[3] >= 0.75)
    owner, artists, deep, u3, u4 = owner[keep], artists[keep], deep[keep], u[4][keep], u[5][keep]
    first = catalogue.artist_first_track[artists]
    deep_first = catalogue.deep_first_track[artists]
    head_count = np.minimum(deep_first - first, _MAX_ARTIST_TRACKS)
    hit = np.searchsorted(_TRACK_ZIPF, u3 * _TRACK_ZIPF[head_count - 1], side="right")
    head_track = first + np.minimum(hit, head_count - 1)
    deep_count = catalogue.artist_first_track[artists + 1] - deep_first
    deep_track = deep_first + np.minimum((u3 * deep_count).astype(np.int64), deep_count - 1)
    tracks = np.where(deep, deep_track, head_track)
    runs = np.where(
        deep,
        _DEEP_RUNS[np.searchsorted(_DEEP_RUN_CUM, u4 * _DEEP_RUN_CUM[-1], side="right")],
        _RUNS[np.minimum(np.searchsorted(_RUN_CUM, u4 * _RUN_CUM[-1], side="right"), 6)],
    )
    album_end = catalogue.album_first_track[catalogue.album_of(tracks) + 1]
    starts = np.cumsum(runs) - runs
    step = np.arange(int(runs.sum())) - np.repeat(starts, runs)
    expanded = np.repeat(tracks, runs) + step
    inside = expanded < np.repeat(album_end, runs)
    return np.repeat(owner, runs)[inside], expanded[inside]


def _select(
    owner: np.ndarray, tracks: np.ndarray, lengths: np.ndarray, repeats: np.ndarray, total: int
) -> np.ndarray:
    """Mask of the rows kept: first occurrences (unless repeats allowed), up to each length."""
    _, first = np.unique(owner * total + tracks, return_index=True)
    mask = np.zeros(len(owner), dtype=bool)
    mask[first] = True
    mask |= repeats[owner]
    counts = np.cumsum(mask)
    group_start = np.searchsorted(owner, owner, side="left")
    before = np.where(group_start > 0, counts[np.maximum(group_start - 1, 0)], 0)
    return mask & (counts - before <= lengths[owner])


def _pick_tracks(
    rng: np.random.Generator,
    catalogue: Catalogue,
    lengths: np.ndarray,
    genre_cum: np.ndarray,
    eras_ok: np.ndarray,
    repeats: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(playlist, track) rows of the slice, grouped by playlist, in playlist order."""
    count = len(lengths)
    ids = np.arange(count)
    picks = lengths + 8
    owners: list[np.ndarray] = []
    chosen: list[np.ndarray] = []
    for _ in range(12):
        owner, tracks = _candidates(rng, catalogue, ids, picks, genre_cum, eras_ok)
        owners.append(owner)
        chosen.append(tracks)
        order = np.argsort(np.concatenate(owners), kind="stable")
        owner = np.concatenate(owners)[order]
        tracks = np.concatenate(chosen)[order]
        keep = _select(owner, tracks, lengths, repeats, catalogue.tracks)
        owner, tracks = owner[keep], tracks[keep]
        short = np.bincount(owner, minlength=count) < lengths
        if not short.any():
            break
        ids = np.flatnonzero(short)
        picks = 2 * lengths[ids] + 8
        owners, chosen = [owner], [tracks]
    return owner, tracks


def _enforce_sampling_rules(
    rng: np.random.Generator, catalogue: Catalogue, owner: np.ndarray, tracks: np.ndarray
) -> np.ndarray:
    """At least 3 artists and 2 albums per playlist, as the MPD's sampling guarantees."""
    total = catalogue.tracks
    albums = catalogue.album_of(tracks)
    artists = catalogue.artist_of(tracks)
    album_count = np.bincount(np.unique(owner * total + albums) // total, minlength=owner[-1] + 1)
    artist_count = np.bincount(np.unique(owner * total + artists) // total, minlength=owner[-1] + 1)
    tracks = tracks.copy()
    for playlist in np.flatnonzero((album_count < 2) | (artist_count < 3)).tolist():
        rows = np.flatnonzero(owner == playlist)
        chosen = tracks[rows].tolist()
        for _ in range(10):
            held_albums = set(catalogue.album_of(np.array(chosen)).tolist())
            held_artists = set(catalogue.artist_of(np.array(chosen)).tolist())
            if len(held_artists) >= 3 and len(held_albums) >= 2:
                break
            artist = int(rng.integers(catalogue.artists))
            track = int(catalogue.artist_first_track[artist])
            if artist in held_artists or track in chosen:
                continue
            chosen[len(chosen) - 1 - len(held_artists)] = track  # keep the length
        tracks[rows] = chosen
    return tracks


# --- Serialization -----------------------------------------------------------------------------
_TRACK_INDENT = b"\n          "
_POS_PREFIX = [
    (b",\n" if pos else b"") + b"        {" + _TRACK_INDENT + b'"pos": ' + str(pos).encode()
    for pos in range(400)
]


class _Fragments:
    """Per worker: the serialized fields of each track after `pos` (the same in every slice).

    Artist and album parts are cached by artist and album, so a new deep track of a known
    artist costs one name and one URI.
    """

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.cache: dict[int, bytes] = {}
        self.durations: dict[int, int] = {}
        self.artist_parts: dict[int, tuple[bytes, bytes]] = {}
        self.album_parts: dict[int, bytes] = {}

    def _artists(self, artists: np.ndarray) -> None:
        missing = np.array([a for a in artists.tolist() if a not in self.artist_parts], np.int64)
        seed = self.catalogue.seed
        for artist, uri in zip(missing.tolist(), self.catalogue.uris(2, missing), strict=True):
            self.artist_parts[artist] = (
                b"," + _TRACK_INDENT + b'"artist_name": '
                + orjson.dumps(_artist_name(_mix(seed ^ (artist << 4) ^ 0xA1)))
                + b"," + _TRACK_INDENT + b'"track_uri": "spotify:track:',
                b'",' + _TRACK_INDENT + b'"artist_uri": "spotify:artist:' + uri.encode()
                + b'",' + _TRACK_INDENT + b'"track_name": ',
            )  # fmt: skip

    def _albums(self, albums: np.ndarray) -> None:
        missing = np.array([a for a in albums.tolist() if a not in self.album_parts], np.int64)
        seed = self.catalogue.seed
        for album, uri in zip(missing.tolist(), self.catalogue.uris(3, missing), strict=True):
            self.album_parts[album] = (
                b"," + _TRACK_INDENT + b'"album_uri": "spotify:album:' + uri.encode()
                + b'",' + _TRACK_INDENT + b'"duration_ms": '
            )  # fmt: skip
            name = orjson.dumps(_phrase(_mix(seed ^ (album << 6) ^ 0xB2), quirks=False))
            self.album_parts[-1 - album] = (
                b"," + _TRACK_INDENT + b'"album_name": ' + name + b"\n        }"
            )

    def fill(self, tracks: np.ndarray) -> None:
        if len(self.cache) > 300_000:  # bounded memory (~150 MB a worker) at any N
            self.cache.clear()
            self.durations.clear()
            self.artist_parts.clear()
            self.album_parts.clear()
        missing = np.array([t for t in tracks.tolist() if t not in self.cache], dtype=np.int64)
        if not len(missing):
            return
        catalogue = self.catalogue
        albums = catalogue.album_of(missing)
        artists = catalogue.artist_of(missing)
        self._artists(np.unique(artists))
        self._albums(np.unique(albums))
        track_uris = catalogue.uris(1, missing)
        seed = catalogue.seed
        hashes = _mix_array(missing.astype(np.uint64) * np.uint64(256) ^ np.uint64(seed ^ 0x7A))
        for track, album, artist, hashed, uri in zip(
            missing.tolist(),
            albums.tolist(),
            artists.tolist(),
            hashes.tolist(),
            track_uris,
            strict=True,
        ):
            duration = 90_000 + hashed % 330_000 if hashed % 2003 else -1
            self.durations[track] = duration
            before_uri, after_uri = self.artist_parts[artist]
            self.cache[track] = b"".join(
                (
                    before_uri,
                    uri.encode(),
                    after_uri,
                    orjson.dumps(_phrase(hashed, quirks=True)),
                    self.album_parts[album],
                    str(duration).encode(),
                    self.album_parts[-1 - album],
                )
            )


_WORKER_STATE: dict[tuple[int, int], tuple[Catalogue, _Fragments]] = {}


def _state(playlists: int, seed: int) -> tuple[Catalogue, _Fragments]:
    key = (playlists, seed)
    if key not in _WORKER_STATE:
        _WORKER_STATE.clear()
        catalogue = Catalogue(playlists, seed)
        _WORKER_STATE[key] = (catalogue, _Fragments(catalogue))
    return _WORKER_STATE[key]


def slice_bytes(index: int, playlists: int, seed: int) -> tuple[bytes, int]:
    """The file content of slice number `index` of an N-playlist sample, and its track count."""
    catalogue, fragments = _state(playlists, seed)
    rng = np.random.default_rng([seed & _M64, index, 0x511CE])
    start = index * SLICE_SIZE
    count = min(start + SLICE_SIZE, playlists) - start
    themes = np.searchsorted(_THEME_CUM, rng.random(count) * _THEME_CUM[-1], side="right")
    themes = np.minimum(themes, len(THEMES) - 1)
    mix = _THEME_MIX[themes]
    eras_ok = _THEME_ERAS[themes]
    # Personal playlists lean on one or two genres (a taste), sometimes one era.
    personal = np.flatnonzero(themes == _PERSONAL_THEME)
    taste = np.searchsorted(_GENRE_CUM, rng.random((2, len(personal))), side="right")
    taste = np.minimum(taste, len(GENRES) - 1)
    np.add.at(mix, (personal, taste[0]), 0.7)
    np.add.at(mix, (personal, taste[1]), 0.3)
    one_era = personal[rng.random(len(personal)) < 0.4]
    era = np.minimum(np.searchsorted(_ERA_CUM, rng.random(len(one_era))), len(ERAS) - 1)
    eras_ok[one_era] = False
    eras_ok[one_era, era] = True
    genre_cum = np.cumsum(mix, axis=1) / mix.sum(axis=1, keepdims=True)
    lengths = _lengths(rng, count)
    repeats = rng.random(count) < 0.02
    owner, tracks = _pick_tracks(rng, catalogue, lengths, genre_cum, eras_ok, repeats)
    tracks = _enforce_sampling_rules(rng, catalogue, owner, tracks)
    names = _titles(rng, themes, playlists, catalogue.seed)

    fragments.fill(np.unique(tracks))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=count))]).tolist()
    total = catalogue.tracks
    albums = np.bincount(
        np.unique(owner * total + catalogue.album_of(tracks)) // total, None, count
    )
    artists = np.bincount(
        np.unique(owner * total + catalogue.artist_of(tracks)) // total, None, count
    )
    track_list = tracks.tolist()
    meta = rng.random((6, count))
    items: list[dict[str, Any]] = []
    for row in range(count):
        ids = track_list[bounds[row] : bounds[row + 1]]
        cache = fragments.cache
        body = b"".join(
            [part for pos, t in enumerate(ids) for part in (_POS_PREFIX[pos], cache[t])]
        )
        day = 14610 + int(2860 * meta[0, row] ** 0.35)  # 2010-01-01 .. 2017-10-31, recent-heavy
        playlist: dict[str, Any] = {
            "name": names[row],
            "collaborative": "true" if meta[1, row] < 0.023 else "false",
            "pid": start + row,
            "modified_at": day * 86400,
            "num_tracks": len(ids),
            "num_albums": int(albums[row]),
            "num_followers": int((1.0 - meta[2, row]) ** (-1 / 1.6)),
            "tracks": orjson.Fragment(b"[\n" + body + b"\n      ]"),
            "num_edits": 1 + int(-math.log(1.0 - meta[3, row]) * (1 + len(ids) / 12)),
            "duration_ms": sum(fragments.durations[t] for t in ids),
            "num_artists": int(artists[row]),
        }
        if meta[4, row] < 0.0188:
            playlist["description"] = _DESCRIPTIONS[int(meta[5, row] * len(_DESCRIPTIONS))]
        items.append(playlist)
    document = {
        "info": {
            "generated_on": f"2017-12-03 08:41:42 (twotower synthetic, seed {seed})",
            "slice": f"{start}-{start + SLICE_SIZE - 1}",
            "version": "v1",
            "description": "Synthetic playlists in the format of the Million Playlist Dataset; "
            "invented names only.",
            "license": "Generated data; no Spotify content.",
        },
        "playlists": items,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2), len(track_list)


def _write_slice(out_dir: str, index: int, playlists: int, seed: int) -> tuple[str, str, int]:
    content, tracks = slice_bytes(index, playlists, seed)
    start = index * SLICE_SIZE
    name = f"mpd.slice.{start}-{start + SLICE_SIZE - 1}.json"
    target = Path(out_dir) / name
    temporary = target.with_suffix(".json.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)
    return name, hashlib.md5(content).hexdigest(), tracks


def generate_mpd(
    out_dir: str | os.PathLike[str], playlists: int, seed: int = 0, workers: int | None = None
) -> GenerationSummary:
    """Write `playlists` playlists as MPD slice files plus `md5sums` into `out_dir`."""
    if playlists <= 0:
        raise ValueError(f"playlists must be positive, got {playlists}")
    out = str(out_dir)
    Path(out).mkdir(parents=True, exist_ok=True)
    slices = (playlists + SLICE_SIZE - 1) // SLICE_SIZE
    workers = min(workers or os.cpu_count() or 1, slices)
    if workers <= 1:
        results = [_write_slice(out, index, playlists, seed) for index in range(slices)]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(
                pool.map(
                    _write_slice,
                    [out] * slices,
                    range(slices),
                    [playlists] * slices,
                    [seed] * slices,
                    chunksize=max(1, slices // (workers * 8)),
                )
            )
    Path(out, "md5sums").write_text("".join(f"{digest}  {name}\n" for name, digest, _ in results))
    return GenerationSummary(
        out_dir=out,
        playlists=playlists,
        tracks=sum(tracks for _, _, tracks in results),
        files=[name for name, _, _ in results],
        seed=seed,
    )
