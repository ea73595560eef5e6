"""State: the crawler's database of feeds, entries and archived articles."""
