"""`make bench`: the inbound path, growth, reminders, scale-out, cost and memory, each beside its baseline."""
