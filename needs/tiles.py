"""Vector tile layers of the needs app."""
