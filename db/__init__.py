"""Storage: schema, migrations and every SQL statement of 农货通."""
from db.database import Database, transaction

__all__ = ["Database", "transaction"]
