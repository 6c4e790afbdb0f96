"""Store URLs lose their secrets in every reply and log line; the rest stays readable."""

from __future__ import annotations

import logging

import pytest

from emergence.mesh.logs import RedactingFilter
from emergence.mesh.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://emergence:s3cret@db:5432/runs",
            "postgresql://emergence:***@db:5432/runs",
        ),
        (
            "postgresql://u@db/runs?sslpassword=hush&application_name=engine",
            "postgresql://u@db/runs?sslpassword=***&application_name=engine",
        ),
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("nats://tok3n@127.0.0.1:4222", "nats://***@127.0.0.1:4222"),
        ("rediss://cache:6380/1?password=p&db=2", "rediss://cache:6380/1?password=***&db=2"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("sqlite:///runs/abc/history.sqlite", "sqlite:///runs/abc/history.sqlite"),
        ("", ""),
    ],
)
def test_store_urls_are_redacted(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_urls_quoted_in_text_are_redacted_and_the_text_kept() -> None:
    text = "cannot reach PostgreSQL at postgresql://a:pw@h:5/d: connection refused"
    assert (
        redact_text(text)
        == "cannot reach PostgreSQL at postgresql://a:***@h:5/d: connection refused"
    )
    assert redact_text("no url here: a:b@c") == "no url here: a:b@c"


def test_hostile_urls_do_not_break_redaction() -> None:
    assert "pw" not in redact_url(
        "postgresql://a:pw@[::1"
    )  # unparsable: everything before @ hidden
    huge = "postgresql://a:" + "x" * 100_000 + "@h/d"
    assert "xxx" not in redact_url(huge)
    assert redact_url("postgresql://a:p\x00w@h/d").count("***") == 1


def test_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("emergence.test.redact")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.WARNING, logger="emergence.test.redact"):
            logger.warning("store %s is slow", "postgresql://u:topsecret@db/x")
    finally:
        logger.filters.clear()
    assert "topsecret" not in caplog.text
    assert "postgresql://u:***@db/x" in caplog.text
