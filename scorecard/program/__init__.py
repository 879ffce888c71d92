"""The standards program around the tracks: exemptions that waive a check for an entity,
and campaigns that set a goal and a deadline."""
