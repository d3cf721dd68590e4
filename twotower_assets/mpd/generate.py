"""A synthetic MPD: slice files in exactly the MPD layout, realistic and learnable.

Realistic: calibrated to the published MPD statistics (reference/mpd_stats.md): skewed lengths
(mean ~66, 5..250, a few longer), long-tailed track popularity, catalogue sizes in the MPD's
ratios to the number of playlists, ~2% descriptions, titles from a realistic distribution.
Learnable: every playlist has a theme (title) that picks genres and eras; artists own albums own
tracks; tracks come in runs of the same album; so co-occurrence carries real signal.
Deterministic per seed (each slice has its own random stream, whatever the worker count) and
streaming: the catalogue is a few flat integer arrays; names and URIs are hashed on demand.
"""

from __future__ import annotations

import hashlib
import os
import random
from array import array
from bisect import bisect
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

SLICE_SIZE = 1000
FULL_SCALE = 1_000_000
_M64 = (1 << 64) - 1
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Byte -> base62 character (a slight bias toward the first 8 characters is harmless here).
_BASE62_TABLE = bytes(ord(_BASE62[value % 62]) for value in range(256))

GENRES = (
    "pop", "rap", "country", "rock", "rnb", "edm", "indie", "latin", "christian", "holiday",
    "metal", "jazz", "kids", "lofi", "alternative", "reggae", "kpop", "classical", "folk", "punk",
)  # fmt: skip
# Share of catalogue artists per genre (popular genres are also bigger).
GENRE_SIZE = (14, 12, 9, 10, 7, 7, 8, 5, 4, 2, 4, 3, 2, 4, 5, 2, 2, 3, 4, 3)
ERAS = ("60s-70s", "80s", "90s", "00s", "2010-14", "2015-17")
ERA_WEIGHTS = (8, 7, 12, 20, 26, 27)

# Themes: (weight, canonical titles with weights, genre mix, preferred eras or None).
# A theme ties the title to the content, which is what makes titles predictive.
_T = tuple[float, tuple[tuple[str, float], ...], dict[str, float], tuple[int, ...] | None]
THEMES: tuple[_T, ...] = (
    (5.0, (("country", 40), ("Country", 12), ("country music", 5), ("Country Music", 4),
           ("country 🤠", 2), ("COUNTRY", 2), ("country jams", 3), ("Country Songs", 2)),
     {"country": 0.9, "folk": 0.1}, None),
    (4.5, (("chill", 40), ("Chill", 14), ("chill vibes", 6), ("chillin", 3), ("Chill 🌙", 2),
           ("relax", 3), ("chill songs", 2)),
     {"lofi": 0.35, "indie": 0.3, "rnb": 0.2, "pop": 0.15}, None),
    (4.0, (("rap", 40), ("Rap", 14), ("hip hop", 6), ("Hip Hop", 5), ("rap 🔥", 2), ("RAP", 2)),
     {"rap": 1.0}, (3, 4, 5)),
    (4.3, (("workout", 36), ("Workout", 14), ("gym", 8), ("Gym", 5), ("running", 4),
           ("workout mix", 3), ("lift 💪", 1)),
     {"rap": 0.4, "edm": 0.35, "pop": 0.25}, (4, 5)),
    (3.8, (("oldies", 40), ("Oldies", 14), ("classics", 5), ("golden oldies", 3),
           ("old school", 4)),
     {"rock": 0.4, "pop": 0.3, "rnb": 0.3}, (0,)),
    (3.3, (("christmas", 45), ("Christmas", 18), ("Christmas Music", 5), ("xmas", 4),
           ("christmas 🎄", 2)),
     {"holiday": 1.0}, None),
    (4.0, (("rock", 35), ("Rock", 12), ("classic rock", 8), ("Classic Rock", 5),
           ("rock n roll", 2)),
     {"rock": 0.8, "metal": 0.1, "alternative": 0.1}, (0, 1, 2)),
    (3.5, (("party", 36), ("Party", 12), ("party playlist", 3), ("pregame", 4), ("turn up", 3)),
     {"pop": 0.4, "edm": 0.3, "rap": 0.3}, (4, 5)),
    (4.2, (("throwback", 30), ("throwbacks", 21), ("Throwback", 10), ("Throwbacks", 6),
           ("2000s", 4), ("90s", 4)),
     {"pop": 0.4, "rap": 0.3, "rnb": 0.3}, (2, 3)),
    (2.4, (("jams", 40), ("Jams", 12), ("my jams", 5), ("JAMS", 2)),
     {"pop": 0.4, "rap": 0.3, "rnb": 0.15, "indie": 0.15}, None),
    (2.6, (("worship", 40), ("Worship", 15), ("church", 4), ("praise", 4), ("Jesus", 3)),
     {"christian": 1.0}, None),
    (2.5, (("summer", 40), ("Summer", 15), ("summer 2017", 6), ("summer vibes ☀️", 2)),
     {"pop": 0.4, "edm": 0.3, "latin": 0.15, "reggae": 0.15}, (4, 5)),
    (2.3, (("feels", 40), ("sad", 10), ("Feels", 8), ("sad songs", 4), ("💔", 1)),
     {"rnb": 0.35, "indie": 0.35, "pop": 0.3}, (4, 5)),
    (2.2, (("new", 40), ("New", 12), ("new music", 4), ("new stuff", 3)),
     {"pop": 0.4, "rap": 0.3, "edm": 0.15, "indie": 0.15}, (5,)),
    (2.0, (("disney", 40), ("Disney", 20), ("kids", 4), ("Disney songs", 3)),
     {"kids": 1.0}, None),
    (2.0, (("lit", 40), ("Lit", 12), ("🔥🔥🔥", 3), ("litty", 2)),
     {"rap": 0.7, "edm": 0.3}, (5,)),
    (1.8, (("latin", 20), ("Spanish", 10), ("reggaeton", 10), ("español", 3)),
     {"latin": 1.0}, None),
    (1.6, (("edm", 30), ("EDM", 15), ("house", 6), ("electronic", 4)), {"edm": 1.0}, None),
    (1.6, (("r&b", 20), ("R&B", 15), ("rnb", 10), ("slow jams", 6)), {"rnb": 1.0}, None),
    (1.6, (("indie", 30), ("Indie", 12), ("alt", 6), ("alternative", 6)),
     {"indie": 0.6, "alternative": 0.4}, None),
    (1.0, (("metal", 30), ("Metal", 10), ("heavy", 4)), {"metal": 1.0}, None),
    (1.0, (("jazz", 30), ("Jazz", 10), ("smooth jazz", 3)), {"jazz": 1.0}, (0, 1)),
    (1.0, (("study", 30), ("Study", 10), ("focus", 6), ("piano", 5)),
     {"classical": 0.6, "lofi": 0.4}, None),
    (0.8, (("reggae", 30), ("Reggae", 10), ("island vibes 🌴", 2)), {"reggae": 1.0}, None),
    (0.8, (("kpop", 30), ("KPOP", 10), ("k-pop", 6)), {"kpop": 1.0}, (4, 5)),
    (1.0, (("folk", 20), ("acoustic", 15), ("Acoustic", 8)), {"folk": 0.7, "indie": 0.3}, None),
    (0.9, (("punk", 20), ("pop punk", 15), ("emo", 10)), {"punk": 0.8, "alternative": 0.2},
     (3, 4)),
    # Personal titles: a broad mix, titled from a large invented pool (the long tail).
    (140.0, (("music", 6), ("my playlist", 8), ("road trip", 8), ("Road Trip", 4),
            ("good vibes", 6), ("songs", 5), ("random", 5), ("car", 4), ("sleep", 4),
            ("shower", 3), ("favorites", 6), ("Favorites", 3), ("mix", 4), ("vibes", 5),
            ("2017", 3), ("2016", 3), ("wedding", 2), ("beach", 3), ("love", 4), ("happy", 3)),
     {genre: size for genre, size in zip(GENRES, GENRE_SIZE, strict=True)}, None),
)  # fmt: skip
# Probability that a playlist of a theme gets a surface variant of an invented title instead.
RARE_TITLE_SHARE = (0.2, 0.72)  # (genre themes, personal theme)
_WORDS = (
    "love", "night", "summer", "fire", "dream", "heart", "road", "light", "blue", "gold",
    "wild", "river", "city", "moon", "sun", "rain", "young", "home", "ghost", "sweet", "dance",
    "girl", "boy", "baby", "time", "life", "mind", "soul", "star", "sky", "ocean", "stone",
    "shadow", "fever", "honey", "midnight", "echo", "velvet", "neon", "paper", "silver", "storm",
    "west", "south", "highway", "money", "party", "lonely", "crazy", "forever", "tonight",
)  # fmt: skip
_SYLLABLES = (
    "ka", "lo", "mi", "ra", "ven", "tor", "sa", "lin", "do", "rey", "ja", "nel", "ko", "bri",
    "an", "ta", "vi", "mo", "zen", "el", "ly", "ro", "na", "dre", "quin", "sol", "ber", "fa",
    "gi", "hal", "is", "ju", "ke", "lu", "mar", "no", "pe", "ri", "su", "te", "ul", "xa", "yo",
)  # fmt: skip
_EMOJI = ("🔥", "💯", "✨", "🎶", "❤️", "😎", "🌙", "☀️", "💔", "🌴", "🤘", "😭")
_DESCRIPTIONS = (
    "songs for the drive", "my favorite songs right now", "for when you need to focus",
    "good music only", "the best of the best", "updated weekly", "for the gym", "late nights",
    "rainy day music", "sing along", "tunes for the weekend", "all the feels",
)  # fmt: skip

# Run lengths: how many consecutive tracks of one album a single pick adds.
_RUNS = (1, 2, 3, 4, 5, 6, 8)
_RUN_CUM = tuple(accumulate((0.52, 0.18, 0.1, 0.07, 0.05, 0.04, 0.04)))
# Per-artist track popularity: Zipf over the artist's tracks (first tracks are the hits).
_MAX_ARTIST_TRACKS = 600
_TRACK_ZIPF = tuple(accumulate(1.0 / (k + 1) ** 0.6 for k in range(_MAX_ARTIST_TRACKS)))
# Artist popularity inside a genre: Zipf with exponent > 1 keeps the head stable with N.
_ARTIST_ZIPF_EXPONENT = 1.02
_ARTIST_ZIPF_OFFSET = 12.0
# Catalogue sizes per playlist, in the full MPD's observed ratios (artists, albums/artist).
_ARTISTS_PER_PLAYLIST = 0.30
_MIN_ARTISTS_PER_GENRE = 12
_LENGTH_MU, _LENGTH_SIGMA = 3.97, 0.86


def _mix(value: int) -> int:
    """splitmix64: a cheap, well-spread integer hash (names and URIs derive from ids)."""
    value = (value + 0x9E3779B97F4A7C15) & _M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _M64
    return value ^ (value >> 31)


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: str
    playlists: int
    tracks: int
    files: list[str]
    seed: int


class Catalogue:
    """Artists (by genre and era) -> albums -> tracks as contiguous id ranges in flat arrays."""

    def __init__(self, playlists: int, seed: int) -> None:
        self.seed = seed
        rng = random.Random(_mix(seed ^ 0xC47A109E))
        artists_total = max(
            len(GENRES) * _MIN_ARTISTS_PER_GENRE, round(playlists * _ARTISTS_PER_PLAYLIST)
        )
        size_total = sum(GENRE_SIZE)
        self.genre_first_artist: list[int] = []
        self.genre_artist_cum: list[list[float]] = []
        self.artist_era = array("b")
        self.artist_first_album = array("q", [0])
        self.album_first_track = array("q", [0])
        artist = 0
        for size in GENRE_SIZE:
            count = max(_MIN_ARTISTS_PER_GENRE, round(artists_total * size / size_total))
            self.genre_first_artist.append(artist)
            self.genre_artist_cum.append(
                list(
                    accumulate(
                        1.0 / (k + _ARTIST_ZIPF_OFFSET) ** _ARTIST_ZIPF_EXPONENT
                        for k in range(count)
                    )
                )
            )
            for rank in range(count):
                self.artist_era.append(_pick(rng, ERA_WEIGHTS))
                # Popular artists have more albums; the tail mostly one or two.
                albums = 1 + int(rng.expovariate(1 / (1.0 + 20.0 / (1 + rank / 3))))
                for _ in range(albums):
                    kind = rng.random()
                    tracks = (
                        1
                        if kind < 0.55
                        else rng.randint(2, 4)
                        if kind < 0.8
                        else rng.randint(6, 10)
                    )
                    self.album_first_track.append(self.album_first_track[-1] + tracks)
                self.artist_first_album.append(len(self.album_first_track) - 1)
            artist += count
        self.genre_first_artist.append(artist)
        self.genre_index = {genre: index for index, genre in enumerate(GENRES)}
        self.track_info = lru_cache(maxsize=1 << 17)(self._track_info)

    @property
    def artists(self) -> int:
        return len(self.artist_era)

    @property
    def albums(self) -> int:
        return len(self.album_first_track) - 1

    @property
    def tracks(self) -> int:
        return self.album_first_track[-1]

    def artist_tracks(self, artist: int) -> tuple[int, int]:
        first_album = self.artist_first_album[artist]
        last_album = self.artist_first_album[artist + 1]
        return self.album_first_track[first_album], self.album_first_track[last_album]

    def album_of(self, track: int) -> int:
        return bisect(self.album_first_track, track) - 1

    def artist_of_album(self, album: int) -> int:
        return bisect(self.artist_first_album, album) - 1

    def uri(self, kind: int, identifier: int) -> str:
        """22 base62 characters hashed from (seed, kind, id): stable, unique in practice."""
        first = _mix((self.seed << 40) ^ (kind << 36) ^ identifier)
        raw = (
            first.to_bytes(8, "little")
            + _mix(first).to_bytes(8, "little")
            + _mix(first ^ 0x5BD1E995).to_bytes(8, "little")[:6]
        )
        return raw.translate(_BASE62_TABLE).decode("ascii")

    def _track_info(self, track: int) -> tuple[str, str, str, str, str, int, str]:
        album = self.album_of(track)
        artist = self.artist_of_album(album)
        hashed = _mix((self.seed << 40) ^ 0x7A ^ (track << 8))
        duration = 90_000 + hashed % 330_000 if hashed % 2003 else -1
        return (
            _artist_name(_mix(self.seed ^ (artist << 4) ^ 0xA1)),
            "spotify:track:" + self.uri(1, track),
            "spotify:artist:" + self.uri(2, artist),
            _phrase(hashed, quirks=True),
            "spotify:album:" + self.uri(3, album),
            duration,
            _phrase(_mix(self.seed ^ (album << 6) ^ 0xB2), quirks=False),
        )


def _pick(rng: random.Random, weights: Sequence[float]) -> int:
    return bisect(list(accumulate(weights)), rng.random() * sum(weights))


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
    words = [_WORDS[(hashed >> (6 * i)) % len(_WORDS)] for i in range(1 + hashed % 3)]
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


_THEME_CUM = tuple(accumulate(theme[0] for theme in THEMES))
_PERSONAL_SUFFIXES = ("mix", "vibes", "playlist", "songs", "2017", "faves", "stuff", "jams")
_PERSONAL_THEME = len(THEMES) - 1


def _theme_tables(
    catalogue: Catalogue,
) -> list[tuple[list[float], list[int], list[float], list[str], tuple[int, ...] | None]]:
    tables = []
    for _, titles, mix, eras in THEMES:
        genres = [catalogue.genre_index[genre] for genre in mix]
        tables.append(
            (
                list(accumulate(mix.values())),
                genres,
                list(accumulate(weight for _, weight in titles)),
                [title for title, _ in titles],
                eras,
            )
        )
    return tables


def _rare_title(rng: random.Random, pool: int, seed: int) -> str:
    # A base phrase from a pool that grows with N, then a surface variant (case, emoji, '!').
    index = int(pool * rng.random() ** 1.25)
    hashed = _mix(seed ^ 0x7171 ^ (index << 12))
    words = [_WORDS[(hashed >> (6 * i)) % len(_WORDS)] for i in range(1 + hashed % 2)]
    if hashed % 3 == 0:
        words = [_invented_word(hashed >> 20)] + words[:1]
    text = " ".join(words)
    style = rng.random()
    if style < 0.3:
        text = text.title()
    elif style < 0.38:
        text = text.upper()
    decoration = rng.random()
    if decoration < 0.08:
        text += " " + rng.choice(_EMOJI)
    elif decoration < 0.2:
        text += "!" * rng.randint(1, 3)
    elif decoration < 0.24:
        text += " "
    return text


def _playlist(
    rng: random.Random, pid: int, catalogue: Catalogue, themes: list[Any], title_pool: int
) -> dict[str, Any]:
    theme_index = bisect(_THEME_CUM, rng.random() * _THEME_CUM[-1])
    genre_cum, genres, title_cum, titles, eras = themes[theme_index]
    rare_share = RARE_TITLE_SHARE[1] if theme_index == _PERSONAL_THEME else RARE_TITLE_SHARE[0]
    if rng.random() < rare_share:
        name = _rare_title(rng, title_pool, catalogue.seed)
    else:
        name = titles[bisect(title_cum, rng.random() * title_cum[-1])]
    # Personal playlists lean on one or two genres (a taste), not the whole mix.
    if theme_index == _PERSONAL_THEME:
        favourite = genres[bisect(genre_cum, rng.random() * genre_cum[-1])]
        second = genres[bisect(genre_cum, rng.random() * genre_cum[-1])]
        genre_cum, genres = [0.7, 1.0], [favourite, second]
        if rng.random() < 0.2:  # "indie mix", "Rap Vibes": the title names the taste
            name = f"{GENRES[favourite]} {rng.choice(_PERSONAL_SUFFIXES)}"
            name = name.title() if rng.random() < 0.3 else name
        eras = (_pick(rng, ERA_WEIGHTS),) if rng.random() < 0.4 else None

    length = 0
    while not 5 <= length <= 250:
        length = int(rng.lognormvariate(_LENGTH_MU, _LENGTH_SIGMA))
    if rng.random() < 0.001:
        length = rng.randint(251, 375)  # edits after sampling let a few playlists grow past 250
    allow_repeat = rng.random() < 0.02

    chosen: list[int] = []
    seen: set[int] = set()
    album_first_track = catalogue.album_first_track
    attempts = 0
    while len(chosen) < length and attempts < length * 20:
        attempts += 1
        genre = genres[bisect(genre_cum, rng.random() * genre_cum[-1])]
        cum = catalogue.genre_artist_cum[genre]
        artist = catalogue.genre_first_artist[genre] + bisect(cum, rng.random() * cum[-1])
        if eras is not None and catalogue.artist_era[artist] not in eras and rng.random() < 0.75:
            continue
        first, last = catalogue.artist_tracks(artist)
        count = min(last - first, _MAX_ARTIST_TRACKS)
        track = first + bisect(_TRACK_ZIPF, rng.random() * _TRACK_ZIPF[count - 1], 0, count)
        run = _RUNS[bisect(_RUN_CUM, rng.random() * _RUN_CUM[-1])]
        album_end = album_first_track[catalogue.album_of(track) + 1]
        for candidate in range(track, min(track + run, album_end)):
            if candidate in seen and not allow_repeat:
                continue
            seen.add(candidate)
            chosen.append(candidate)
            if len(chosen) >= length:
                break
    _enforce_sampling_rules(rng, chosen, catalogue)

    infos = [catalogue.track_info(track) for track in chosen]
    tracks = [
        {"pos": pos, "artist_name": i[0], "track_uri": i[1], "artist_uri": i[2],
         "track_name": i[3], "album_uri": i[4], "duration_ms": i[5], "album_name": i[6]}
        for pos, i in enumerate(infos)
    ]  # fmt: skip
    day = 14610 + int(2860 * rng.random() ** 0.35)  # 2010-01-01 .. 2017-10-31, recent-heavy
    playlist: dict[str, Any] = {
        "name": name,
        "collaborative": "true" if rng.random() < 0.023 else "false",
        "pid": pid,
        "modified_at": day * 86400,
        "num_tracks": len(tracks),
        "num_albums": len({i[4] for i in infos}),
        "num_followers": int(rng.paretovariate(1.6)),
        "tracks": tracks,
        "num_edits": 1 + int(rng.expovariate(1 / (1 + len(tracks) / 12))),
        "duration_ms": sum(i[5] for i in infos),
        "num_artists": len({i[2] for i in infos}),
    }
    if rng.random() < 0.0188:
        playlist["description"] = rng.choice(_DESCRIPTIONS)
    return playlist


def _enforce_sampling_rules(rng: random.Random, chosen: list[int], catalogue: Catalogue) -> None:
    """At least 3 artists and 2 albums, as the MPD's sampling guarantees."""
    for _ in range(10):
        albums = {catalogue.album_of(track) for track in chosen}
        artists = {catalogue.artist_of_album(album) for album in albums}
        if len(artists) >= 3 and len(albums) >= 2:
            return
        artist = rng.randrange(catalogue.artists)
        if artist in artists:
            continue
        track = catalogue.artist_tracks(artist)[0]
        if track in chosen:
            continue
        # Replace a track of the most frequent artist, keeping the length.
        chosen[len(chosen) - 1 - len(artists)] = track


_WORKER_CATALOGUE: dict[tuple[int, int], Catalogue] = {}


def _catalogue(playlists: int, seed: int) -> Catalogue:
    key = (playlists, seed)
    if key not in _WORKER_CATALOGUE:
        _WORKER_CATALOGUE.clear()
        _WORKER_CATALOGUE[key] = Catalogue(playlists, seed)
    return _WORKER_CATALOGUE[key]


def slice_bytes(index: int, playlists: int, seed: int) -> tuple[bytes, int]:
    """The file content of slice number `index` of an N-playlist sample, and its track count."""
    catalogue = _catalogue(playlists, seed)
    themes = _theme_tables(catalogue)
    title_pool = max(40, playlists // 100)
    rng = random.Random(_mix(_mix(seed) ^ (index + 1)))
    start = index * SLICE_SIZE
    end = min(start + SLICE_SIZE, playlists)
    items = [_playlist(rng, pid, catalogue, themes, title_pool) for pid in range(start, end)]
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
    return orjson.dumps(document, option=orjson.OPT_INDENT_2), sum(p["num_tracks"] for p in items)


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
