"""A small service that knows what it was built from."""
