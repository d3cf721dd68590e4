"""Assets of the 'warehouse' group (to be filled by its issue)."""
