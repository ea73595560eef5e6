"""Configuration: feeds.yaml read into frozen settings, and the editor behind `crawler feeds ...`."""
