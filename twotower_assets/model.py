"""Assets of the 'model' group (to be filled by its issue)."""
