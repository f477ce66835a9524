"""Domain nouns: statuses, ids, naming, pipeline configs and execution records."""
