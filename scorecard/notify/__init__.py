"""Notifications: events written with the changes that cause them (`events`), routed by
the workspace's rules to targets (`routing`), and sent through Apprise with retries by
the dispatcher (`dispatcher`)."""
