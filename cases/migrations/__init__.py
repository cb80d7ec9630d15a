"""Alembic migrations of the hotline's own store (run with `cases.db.upgrade`)."""
