"""sql rules."""
