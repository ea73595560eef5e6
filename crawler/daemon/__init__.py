"""`crawler run`: the daemon."""
