"""The Observer service: a read-only view of every run in the event store, live and finished."""
