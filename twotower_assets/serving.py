"""Assets of the 'serving' group (to be filled by its issue)."""
