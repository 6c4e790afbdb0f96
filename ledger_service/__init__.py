"""The ledger service: an independent double-entry book that proves conservation every tick."""
