"""The `twotower` command line: `mpd` tools, the main job, `recommend`."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """twotower: Spotify MPD -> two-tower retrieval model, as a Dagster asset graph."""


def _register() -> None:
    from twotower_assets.mpd.cli import mpd

    main.add_command(mpd)


_register()
