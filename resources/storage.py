"""Artifact storage: one root folder, local or `gs://`, for every file the graph writes.

Writes are atomic at the folder level: `staging(name)` gives a temporary folder beside the final
one, and `commit` swaps it into place only when the writer finished, so a killed run leaves the
previous artifact complete and readable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator

import dagster as dg
import fsspec
from pydantic import Field


class ArtifactStore(dg.ConfigurableResource):
    """A root folder (`/path/.twotower` or `gs://bucket/prefix`) holding every artifact."""

    root: str = Field(description="Artifact root: a local folder or a gs:// prefix.")

    @property
    def is_remote(self) -> bool:
        return "://" in self.root

    def path(self, *parts: str) -> str:
        """The location of `parts` under the root (a local path or a gs:// URI)."""
        base = self.root.rstrip("/")
        return "/".join([base, *[p.strip("/") for p in parts if p]])

    @property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        filesystem, _ = fsspec.core.url_to_fs(self.root)
        return filesystem

    def exists(self, *parts: str) -> bool:
        return self.filesystem.exists(self.path(*parts))

    def glob(self, *parts: str) -> list[str]:
        pattern = self.path(*parts)
        found = self.filesystem.glob(pattern)
        if self.is_remote:
            protocol = self.root.split("://", 1)[0]
            return sorted(f"{protocol}://{p}" for p in found)
        return sorted(found)

    def open(self, *parts: str, mode: str = "rb"):  # noqa: ANN201 - fsspec file object
        return fsspec.open(self.path(*parts), mode).open()

    def read_text(self, *parts: str) -> str:
        with fsspec.open(self.path(*parts), "r", encoding="utf-8") as handle:
            return handle.read()

    def write_text(self, text: str, *parts: str) -> str:
        target = self.path(*parts)
        if not self.is_remote:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        with fsspec.open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
        return target

    def size_bytes(self, *parts: str) -> int:
        target = self.path(*parts)
        filesystem = self.filesystem
        if filesystem.isdir(target):
            return int(filesystem.du(target))
        return int(filesystem.size(target))

    @contextlib.contextmanager
    def staging(self, *parts: str) -> Iterator[str]:
        """Yield a fresh temporary folder; on success it replaces `parts` atomically.

        On error (or a kill) the temporary folder is left behind or removed, and the previous
        content of `parts` is untouched.
        """
        final = self.path(*parts)
        temporary = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
        # What a killed earlier run left behind (it never reached `commit`).
        for leftover in self.filesystem.glob(f"{final}.tmp-*"):
            self._remove(
                leftover if not self.is_remote else f"{self.root.split('://')[0]}://{leftover}"
            )
        if not self.is_remote:
            os.makedirs(temporary, exist_ok=True)
        try:
            yield temporary
        except BaseException:
            self._remove(temporary)
            raise
        self.commit(temporary, final)

    def commit(self, temporary: str, final: str) -> None:
        """Move a finished `temporary` folder to `final`, replacing what was there."""
        if self.is_remote:
            # Object stores have no atomic folder rename: copy, then delete the old folder.
            # Readers see either the old or the new complete set because the new files are
            # written under a fresh prefix first and the old prefix is replaced last.
            filesystem = self.filesystem
            if filesystem.exists(final):
                filesystem.rm(final, recursive=True)
            filesystem.mv(temporary, final, recursive=True)
            return
        previous = f"{final}.old-{uuid.uuid4().hex[:8]}"
        if os.path.exists(final):
            os.rename(final, previous)
        os.rename(temporary, final)
        shutil.rmtree(previous, ignore_errors=True)

    def _remove(self, location: str) -> None:
        if self.is_remote:
            with contextlib.suppress(FileNotFoundError):
                self.filesystem.rm(location, recursive=True)
        else:
            shutil.rmtree(location, ignore_errors=True)
