"""World files: bundled maps (YAML) and the loader that reads one by name or path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class WorldFileError(ValueError):
    """A world file is missing or malformed."""


def bundled_maps() -> list[str]:
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".yaml")
    )


def load_map(name: str) -> dict[str, Any]:
    """Read a world file: a bundled map by name ("default") or a path to a .yaml file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise WorldFileError(f"world file {name} does not exist; give a path to a .yaml map")
        text = path.read_text(encoding="utf-8")
    else:
        resource = resources.files(__package__) / f"{name}.yaml"
        if not resource.is_file():
            raise WorldFileError(
                f"unknown map {name!r}; choose one of {', '.join(bundled_maps())}, "
                "'generated', or a path to a .yaml world file"
            )
        text = resource.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise WorldFileError(f"world file {name} must hold a mapping at the top level")
    return data
