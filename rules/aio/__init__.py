"""aio rules."""
