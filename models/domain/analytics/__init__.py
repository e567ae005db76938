"""Analytics planning (pure): question → plan, plan → sentence. No I/O here."""
