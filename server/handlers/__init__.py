"""HTTP handlers; each module lists its routes at its foot."""
