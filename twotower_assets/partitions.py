"""The MPD slice partitions: one per slice file, keyed by its pid range ("0-999", ...).

The keys are the slice files present in TWOTOWER_MPD_DIR when the definitions load, so a new
slice file is one new partition after a reload (`Reload definitions` in the UI). With no file
present yet, the 1,000 canonical keys of the full MPD stand in, so
`dagster asset materialize --select playlists --partition 0-999` is valid on a fresh checkout.

Why not always the 1,000 canonical keys: Dagster 1.13 ignores, for staleness, the dependency of
an unpartitioned asset on a parent with 100 or more partitions
(SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD), so ingesting a new slice would never mark
the warehouse stale. With the present files only, samples of fewer than 100 slices keep that
signal; the full MPD (1,000 slices) does not, and docs/operating.md says what to do there.
"""

from __future__ import annotations

import warnings

import dagster as dg

SLICE_SIZE = 1000
SLICE_COUNT = 1000


def slice_keys(count: int = SLICE_COUNT) -> list[str]:
    """The canonical keys of the full MPD: "0-999" ... "999000-999999"."""
    return [
        f"{start}-{start + SLICE_SIZE - 1}" for start in range(0, count * SLICE_SIZE, SLICE_SIZE)
    ]


def present_slice_keys() -> list[str]:
    """Keys of the slice files in TWOTOWER_MPD_DIR, in pid order ([] when none or unreadable)."""
    from resources.mpd_source import MpdSource
    from resources.settings import mpd_dir

    directory = mpd_dir()
    try:
        return MpdSource(directory=directory).present_keys()
    except Exception as error:  # an unreachable gs:// prefix must not break loading the graph
        warnings.warn(f"cannot list MPD slices in {directory}: {error}", stacklevel=2)
        return []


mpd_slices = dg.StaticPartitionsDefinition(present_slice_keys() or slice_keys())
