"""`twotower mpd check`: md5sums (when present) and every slice through the one validator.

Findings are lines naming file, pid and field; errors make the check fail, warnings (sampling
constraints) do not. Slices are validated in parallel, one file per task.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fsspec

from twotower_assets.mpd.read import SliceFormatError, list_slice_files, read_bytes
from twotower_assets.mpd.validate import validate_bytes


@dataclass
class FileReport:
    path: str
    playlists: int = 0
    accepted: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    files: list[FileReport] = field(default_factory=list)
    md5_errors: list[str] = field(default_factory=list)
    md5_checked: int = 0

    @property
    def error_lines(self) -> list[str]:
        return self.md5_errors + [line for report in self.files for line in report.errors]

    @property
    def warning_lines(self) -> list[str]:
        return [line for report in self.files for line in report.warnings]

    @property
    def ok(self) -> bool:
        return not self.error_lines


def check_file(path: str) -> FileReport:
    name = path.rsplit("/", 1)[-1]
    report = FileReport(path=path)
    try:
        validation = validate_bytes(read_bytes(path), name)
    except (SliceFormatError, OSError) as error:
        report.errors.append(f"{name}: pid -: file: {error}")
        return report
    report.playlists = validation.playlists_in_file
    report.accepted = len(validation.accepted)
    report.errors = [f"{name}: {issue.describe()}" for issue in validation.errors]
    report.warnings = [f"{name}: {issue.describe()}" for issue in validation.warnings]
    return report


def verify_md5sums(directory: str) -> tuple[int, list[str]]:
    """Compare the `md5sums` file (in DIR or its parent, as in the MPD zip) with the slices."""
    filesystem, root = fsspec.core.url_to_fs(directory)
    candidates = [f"{root.rstrip('/')}/md5sums", f"{os.path.dirname(root.rstrip('/'))}/md5sums"]
    listing = next((path for path in candidates if filesystem.exists(path)), None)
    if listing is None:
        return 0, []
    errors: list[str] = []
    checked = 0
    present = {path.rsplit("/", 1)[-1] for path in list_slice_files(directory)}
    for number, line in enumerate(filesystem.cat_file(listing).decode().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition("  ")
        base = Path(name.strip().lstrip("*")).name
        if base not in present:
            if base.startswith("mpd.slice."):
                errors.append(f"{base}: pid -: md5sums: listed on line {number} but missing")
            continue
        checked += 1
        actual = hashlib.md5(read_bytes(f"{directory.rstrip('/')}/{base}")).hexdigest()
        if actual != digest.lower():
            errors.append(f"{base}: pid -: md5sums: expected {digest}, found {actual}")
    return checked, errors


def check_directory(directory: str, workers: int | None = None) -> CheckReport:
    paths = list_slice_files(directory)
    report = CheckReport()
    report.md5_checked, report.md5_errors = verify_md5sums(directory)
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    if workers == 1:
        report.files = [check_file(path) for path in paths]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            report.files = list(pool.map(check_file, paths))
    return report
