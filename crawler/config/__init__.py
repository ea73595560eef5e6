"""Configuration: feeds.yaml read into frozen settings, and the editor behind `crawler feeds ...`.

settings   the frozen models (FeedConfig, HttpConfig, PolitenessConfig, Config) and ConfigError
values     one value's check: durations, sizes, time zones, URLs, CSS selectors, regular expressions
load       feeds.yaml -> Config: the file checks (a regular file, a size cap), then validation
yamlread   the two YAML readings (libyaml where it cannot differ, else ruamel's round trip) and line look-ups
messages   a pydantic error -> one line with file, line and key (did you mean ...?)
traps      what validates but does not mean what it says (an empty key, an interval out of bounds)
editor     `crawler feeds add/remove/enable/disable/set/unset`: splices that keep every other byte
yamldoc    the positions of feeds and keys in the file, for those splices
lock       the edit lock; atomic: the atomic replace that keeps owner and mode
opml       OPML import and export; starter: `crawler init`'s commented file
"""
