"""tool rules."""
