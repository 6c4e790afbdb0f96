"""Adapters of the Observer: the gRPC servicer, rebuilt-state cache, series and graph views."""
