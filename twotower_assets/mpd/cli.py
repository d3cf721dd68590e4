"""`twotower mpd check|stats|show|generate`: the MPD tools on the command line."""

from __future__ import annotations

import sys
import time

import click
import orjson


@click.group()
def mpd() -> None:
    """Check, summarize, show and generate MPD slice files."""


@mpd.command()
@click.argument("directory")
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
@click.option("--max-warnings", type=int, default=20, help="Warning lines to print (0: none).")
def check(directory: str, workers: int | None, max_warnings: int) -> None:
    """Verify md5sums and every slice file in DIRECTORY; exit 1 on any error."""
    from twotower_assets.mpd.check import check_directory

    started = time.perf_counter()
    report = check_directory(directory, workers)
    for line in report.error_lines:
        click.echo(f"ERROR {line}")
    warnings = report.warning_lines
    for line in warnings[:max_warnings]:
        click.echo(f"WARNING {line}")
    if len(warnings) > max_warnings:
        click.echo(f"... {len(warnings) - max_warnings} more warnings")
    playlists = sum(file.playlists for file in report.files)
    accepted = sum(file.accepted for file in report.files)
    click.echo(
        f"{len(report.files)} files, {playlists} playlists, {accepted} valid, "
        f"{playlists - accepted} rejected, {len(report.error_lines)} errors, {len(warnings)} "
        f"warnings, md5 checked for {report.md5_checked} files "
        f"({time.perf_counter() - started:.1f} s)"
    )
    if not report.files:
        click.echo(f"ERROR {directory}: no mpd.slice.*.json files", err=True)
        sys.exit(1)
    sys.exit(0 if report.ok else 1)


@mpd.command()
@click.argument("directory")
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
@click.option("--top", type=int, default=20, help="Rows in each top list.")
def stats(directory: str, workers: int | None, top: int) -> None:
    """Print the MPD's stats.py statistics for DIRECTORY."""
    from twotower_assets.mpd.stats import compute_statistics, format_statistics

    click.echo(format_statistics(compute_statistics(directory, workers), top=top))


@mpd.command()
@click.argument("directory")
@click.argument("pids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the raw playlist JSON.")
def show(directory: str, pids: tuple[str, ...], as_json: bool) -> None:
    """Print playlists of DIRECTORY by id or id range (5, 1000-1010)."""
    from twotower_assets.mpd.show import find_playlists, format_playlist, parse_pid_specs

    try:
        wanted = parse_pid_specs(pids)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    missing = 0
    for pid, playlist in find_playlists(directory, wanted):
        if playlist is None:
            missing += 1
            click.echo(f"pid {pid}: not found in {directory}", err=True)
        elif as_json:
            click.echo(orjson.dumps(playlist, option=orjson.OPT_INDENT_2).decode())
        else:
            click.echo(format_playlist(playlist))
    sys.exit(1 if missing else 0)


@mpd.command()
@click.option("--playlists", type=click.IntRange(min=1), required=True, help="How many.")
@click.option("--out", "out_dir", required=True, help="Folder to write the slices into.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=int, default=None, help="Processes (default: all cores).")
def generate(playlists: int, out_dir: str, seed: int, workers: int | None) -> None:
    """Write a synthetic sample in the MPD layout (slices of 1,000 + md5sums)."""
    from twotower_assets.mpd.generate import generate_mpd

    started = time.perf_counter()
    summary = generate_mpd(out_dir, playlists, seed=seed, workers=workers)
    seconds = time.perf_counter() - started
    click.echo(
        f"wrote {summary.playlists} playlists ({summary.tracks} tracks) in "
        f"{len(summary.files)} files to {out_dir} in {seconds:.1f} s "
        f"({summary.playlists / seconds:.0f} playlists/s)"
    )
