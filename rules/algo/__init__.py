"""algo rules."""
