"""The database layer: `DATABASE_URL` parsing, TLS, and the tuned SQLite and PostgreSQL engines."""
