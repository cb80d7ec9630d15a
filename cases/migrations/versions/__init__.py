"""Migration scripts, oldest first (revision ids are short and ordered by hand)."""
