"""Reading, validating, generating and summarizing MPD slice files (no Dagster)."""
