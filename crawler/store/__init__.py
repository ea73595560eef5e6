"""The store: the crawler's state of feeds, entries and archived articles, behind one interface."""
