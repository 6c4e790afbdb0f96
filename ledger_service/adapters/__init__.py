"""The ledger's shell: stores (SQLite, PostgreSQL), the book keeper, proto conversion, servicer."""
