"""Persistence: SQLAlchemy models, encryption at rest, migrations and the queue."""
