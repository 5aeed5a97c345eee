"""Dialog state machines and screening logic: pure, no I/O."""
