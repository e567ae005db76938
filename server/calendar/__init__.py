"""Calendar feeds (RFC 5545) of an event's or a team's games."""
