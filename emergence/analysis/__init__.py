"""Run analysis: metrics computed from a stored history, shared by reports, comparisons and batches."""
