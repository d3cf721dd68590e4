"""The MPD slice partitions: one per slice file, keyed by its pid range ("0-999", ...)."""

from __future__ import annotations

import dagster as dg

SLICE_SIZE = 1000
SLICE_COUNT = 1000


def slice_keys(count: int = SLICE_COUNT) -> list[str]:
    return [
        f"{start}-{start + SLICE_SIZE - 1}" for start in range(0, count * SLICE_SIZE, SLICE_SIZE)
    ]


# Static: the MPD has exactly 1,000 slices, so a key always exists before its file arrives
# (`dagster asset materialize --partition 0-999` works on a fresh instance); a slice file that
# appears later is one missing partition to ingest.
mpd_slices = dg.StaticPartitionsDefinition(slice_keys())
