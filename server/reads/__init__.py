"""Read paths served from pre-serialised bytes (the event, its teams and games, the public
events list): see cache.py, versions.py and service.py."""
