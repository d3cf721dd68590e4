"""Assets of the 'tfrecords' group (to be filled by its issue)."""
