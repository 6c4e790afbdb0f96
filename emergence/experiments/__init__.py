"""The experiments control plane: a registry of runs, one engine per run, forks, comparisons."""
