"""Assets of the 'evaluation' group (to be filled by its issue)."""
