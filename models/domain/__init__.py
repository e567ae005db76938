"""Pure domain rules: standings, schedules and game state (no I/O, no database)."""
