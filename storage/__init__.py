"""The request store: engine, tables, migrations and repositories (SQLAlchemy 2, async)."""
