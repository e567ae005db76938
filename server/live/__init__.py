"""Live events: streams (Redis or in-process), outbox relay, SSE hub, standings cache."""
