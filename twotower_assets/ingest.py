"""Assets of the 'ingest' group (to be filled by its issue)."""
