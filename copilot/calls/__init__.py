"""Live calls: the durable record of each call, the session that turns its utterances into
work-order fields and suggestions, and the hub that pushes events to operators' consoles."""
