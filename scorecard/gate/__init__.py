"""`scorecard gate`: hold a change to a required level on a track, in CI."""
