"""Reading MPD slice files: names, locations (local or gs:// via fsspec) and fast parsing.

Parsing is orjson on the whole file (a slice is one JSON object, not JSON lines). Every failure
to read or parse raises `SliceFormatError` naming the file and the byte offset / line:column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
import orjson

SLICE_SIZE = 1000
SLICE_NAME = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.json$")


class SliceFormatError(ValueError):
    """A slice file cannot be used at all (unreadable, not UTF-8, not JSON, wrong layout)."""

    def __init__(self, source: str, message: str, position: str | None = None) -> None:
        self.source = source
        self.message = message
        self.position = position
        where = f"{source} at {position}" if position else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[SliceFormatError], tuple[str, str, str | None]]:
        # Parsing runs in worker processes: the error must survive the trip back. (Without
        # this, unpickling calls __init__ with one argument and the process pool hangs.)
        return (type(self), (self.source, self.message, self.position))


@dataclass(frozen=True)
class SliceKey:
    """The pid range of a slice file, as in its name `mpd.slice.<start>-<end>.json`."""

    start: int
    end: int

    @property
    def key(self) -> str:
        return f"{self.start}-{self.end}"

    @property
    def file_name(self) -> str:
        return f"mpd.slice.{self.key}.json"

    def contains(self, pid: int) -> bool:
        return self.start <= pid <= self.end

    @classmethod
    def parse(cls, key: str) -> SliceKey:
        """`"0-999"` -> SliceKey(0, 999); raises ValueError naming the key otherwise."""
        match = re.fullmatch(r"(\d+)-(\d+)", key)
        if not match or int(match.group(1)) > int(match.group(2)):
            raise ValueError(f"slice key {key!r} is not '<start>-<end>' with start <= end")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_file_name(cls, name: str) -> SliceKey | None:
        match = SLICE_NAME.match(name.rsplit("/", 1)[-1])
        if not match:
            return None
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def for_pid(cls, pid: int) -> SliceKey:
        start = pid - pid % SLICE_SIZE
        return cls(start, start + SLICE_SIZE - 1)


def slice_path(directory: str, key: str) -> str:
    return f"{directory.rstrip('/')}/mpd.slice.{key}.json"


def list_slice_files(directory: str) -> list[str]:
    """Paths (or URIs) of the `mpd.slice.*.json` files in `directory`, in pid order."""
    filesystem, root = fsspec.core.url_to_fs(directory)
    if not filesystem.isdir(root):
        raise FileNotFoundError(f"MPD folder {directory!r} does not exist or is not a folder")
    found: list[tuple[int, str]] = []
    for name in filesystem.ls(root, detail=False):
        key = SliceKey.from_file_name(name)
        if key is not None:
            found.append((key.start, name.rsplit("/", 1)[-1]))
    return [
        slice_path(directory, name[len("mpd.slice.") : -len(".json")]) for _, name in sorted(found)
    ]


def read_bytes(path: str) -> bytes:
    """The raw bytes of a slice file (local path or any fsspec URL)."""
    try:
        with fsspec.open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as error:
        raise FileNotFoundError(f"slice file {path} not found") from error


def _line_col(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"byte {offset} (line {line}, column {column})"


def parse_document(data: bytes, source: str) -> dict[str, Any]:
    """Parse a whole slice file; errors name `source` and the position of the fault."""
    if len(data) == 0:
        raise SliceFormatError(source, "file is empty (0 bytes)", "byte 0")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if "UTF-8" in error.msg or "surrogate" in error.msg:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise SliceFormatError(
                    source, f"not valid UTF-8 ({bad.reason})", _line_col(data, bad.start)
                ) from None
        if not data.strip():
            raise SliceFormatError(
                source, f"file holds only whitespace ({len(data)} bytes)", "byte 0"
            ) from None
        # orjson's pos counts characters; convert to a byte offset for non-ASCII prefixes.
        text_prefix = data.decode("utf-8", errors="replace")[: error.pos]
        offset = len(text_prefix.encode("utf-8"))
        if offset >= len(data.rstrip()):
            message = f"truncated: JSON ends early ({error.msg})"
        else:
            message = f"invalid JSON: {error.msg}"
        raise SliceFormatError(source, message, _line_col(data, offset)) from None
    if not isinstance(document, dict):
        raise SliceFormatError(
            source,
            f"top level must be an object with 'info' and 'playlists', found "
            f"{type(document).__name__}",
        )
    if not isinstance(document.get("playlists"), list):
        found = type(document.get("playlists")).__name__ if "playlists" in document else "nothing"
        raise SliceFormatError(source, f"field 'playlists': expected a list, found {found}")
    if "info" in document and not isinstance(document["info"], dict):
        raise SliceFormatError(
            source, f"field 'info': expected an object, found {type(document['info']).__name__}"
        )
    return document


def read_slice(path: str) -> dict[str, Any]:
    """Read and parse one slice file."""
    return parse_document(read_bytes(path), path)


def iter_playlists(directory: str) -> Iterator[dict[str, Any]]:
    """Every playlist of every slice in `directory`, one file in memory at a time."""
    for path in list_slice_files(directory):
        yield from read_slice(path)["playlists"]
