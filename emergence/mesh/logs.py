"""Structured (key=value or JSON) logging set up once per process."""

from __future__ import annotations

import json
import logging
import os
import sys

from emergence.mesh.redact import redact_text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload)


class RedactingFilter(logging.Filter):
    """Store URLs quoted in a log line lose their passwords and secret options."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str | None = None, *, json_lines: bool | None = None) -> None:
    """Log to stderr; EMERGENCE_LOG_LEVEL and EMERGENCE_LOG_JSON=1 change level and format."""
    chosen = (level or os.environ.get("EMERGENCE_LOG_LEVEL") or "WARNING").upper()
    use_json = json_lines if json_lines is not None else os.environ.get("EMERGENCE_LOG_JSON") == "1"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
