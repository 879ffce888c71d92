"""The long-running service behind `scorecard serve`: live configuration, runs, schedule."""
