"""`twotower mpd ...` (placeholder until the MPD tools land)."""

import click


@click.group()
def mpd() -> None:
    """Check, summarize, show and generate MPD slice files."""
