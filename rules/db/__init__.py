"""db rules."""
