"""The `twotower` command line: `mpd` tools, the main job, the check gate, `recommend`."""

from __future__ import annotations

import os
import sys

import click

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow start-up chatter


@click.group()
def main() -> None:
    """twotower: Spotify MPD -> two-tower retrieval model, as a Dagster asset graph."""


@main.command("run")
@click.option(
    "--playlists",
    default=10_000,
    show_default=True,
    help="Playlists to generate when TWOTOWER_MPD_DIR is unset and no sample exists.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the generated sample.")
def run_command(playlists: int, seed: int) -> None:
    """The main job: (generate,) ingest every slice, build the whole graph, gate, evaluate."""
    from twotower_assets.operations import run_main_job

    sys.exit(run_main_job(playlists=playlists, seed=seed))


@main.command("checks")
def checks_command() -> None:
    """Print the latest result of every asset check; exit 1 on a failure.

    Reads $DAGSTER_HOME, default $TWOTOWER_HOME/dagster (the instance of `twotower run`).

    A failed ERROR-severity check, or one that never completed, fails; a failed WARN-severity
    check is reported and does not.
    """
    from resources.settings import twotower_home
    from twotower_assets.operations import check_gate, dagster_home

    # The instance of `twotower run` unless DAGSTER_HOME says otherwise.
    os.environ["DAGSTER_HOME"] = str(dagster_home(twotower_home()))
    sys.exit(1 if check_gate() else 0)


def _register() -> None:
    from twotower_assets.mpd.cli import mpd
    from twotower_assets.recommend import recommend

    main.add_command(mpd)
    main.add_command(recommend)


_register()
