"""Assets of the 'features' group (to be filled by its issue)."""
