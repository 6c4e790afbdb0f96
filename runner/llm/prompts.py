"""Prompt templates: jinja2 files under templates/, reloaded when a file changes, rendered in a
sandbox with StrictUndefined (a misspelt name is an error, not an empty string)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from emergence.mesh.errors import ConfigurationError

TEMPLATE_NAMES = (
    "system.j2", "identity.j2", "state.j2", "perception.j2", "memory.j2", "actions.j2",
    "response_format.j2", "user.j2",
)  # fmt: skip


class _FileLoader(BaseLoader):
    """Reads templates from one directory; the up-to-date check compares modification times."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        path = (self.directory / template).resolve()
        if path.parent != self.directory.resolve() or not path.is_file():
            raise TemplateNotFound(template)
        mtime = os.stat(path).st_mtime_ns
        return path.read_text(encoding="utf-8"), str(path), lambda: _mtime(path) == mtime


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


class PromptTemplates:
    """`render(context)` -> Prompt(system, user). Edits to the files apply at the next render."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        missing = [name for name in TEMPLATE_NAMES if not (self.directory / name).is_file()]
        if missing:
            raise ConfigurationError(
                "runner.templates_dir",
                f"{self.directory} lacks {', '.join(missing)}",
                hint="point runner.templates_dir at the project's templates/ directory",
            )
        self.environment = SandboxedEnvironment(
            loader=_FileLoader(self.directory),
            undefined=StrictUndefined,
            autoescape=False,
            auto_reload=True,
            keep_trailing_newline=True,
            trim_blocks=False,
        )

    def template(self, name: str) -> Template:
        return self.environment.get_template(name)

    def render(self, context: dict[str, Any]) -> Prompt:
        system = self.template("system.j2").render(context)
        response_format = self.template("response_format.j2").render(context)
        user = self.template("user.j2").render(context)
        return Prompt(system=f"{system.strip()}\n\n{response_format.strip()}", user=_tidy(user))


def _tidy(text: str) -> str:
    """Collapse runs of blank lines left by optional sections."""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.strip() and lines and not lines[-1].strip():
            continue
        lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


def default_templates_dir() -> Path:
    """templates/ at the project root (next to the runner package)."""
    return Path(__file__).resolve().parents[2] / "templates"
