"""Shared plumbing of every Emergence service: server bootstrap, channels, settings, errors, ids."""
