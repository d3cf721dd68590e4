"""Where the raw MPD slice files are: a local folder or a gs:// prefix."""

from __future__ import annotations

import dagster as dg
import fsspec
from pydantic import Field


class MpdSource(dg.ConfigurableResource):
    """The folder of `mpd.slice.<start>-<end>.json` files (TWOTOWER_MPD_DIR)."""

    directory: str = Field(description="Folder or gs:// prefix holding mpd.slice.*.json")

    def slice_path(self, key: str) -> str:
        return f"{self.directory.rstrip('/')}/mpd.slice.{key}.json"

    def present_keys(self) -> list[str]:
        """Partition keys of the slice files present, in pid order."""
        filesystem, root = fsspec.core.url_to_fs(self.directory)
        if not filesystem.exists(root):
            return []
        keys = []
        for name in filesystem.ls(root, detail=False):
            base = name.rsplit("/", 1)[-1]
            if base.startswith("mpd.slice.") and base.endswith(".json"):
                keys.append(base[len("mpd.slice.") : -len(".json")])
        return sorted(keys, key=lambda key: int(key.split("-", 1)[0]))
