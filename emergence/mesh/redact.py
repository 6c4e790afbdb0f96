"""Redaction of secrets in store URLs and in any text that quotes one (replies, logs, summaries).

`postgresql://emergence:s3cret@db:5432/runs?sslpassword=x&application_name=engine` becomes
`postgresql://emergence:***@db:5432/runs?sslpassword=***&application_name=engine`: the user,
host, port, database and harmless options stay readable, so an operator can still tell which
store a run used; the password and query options that carry secrets do not leave the process.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from emergence.v1 import run_pb2

MASK = "***"

# Query options whose value is a secret (libpq, redis-py, nats and common conventions).
_SECRET_OPTION = re.compile(r"pass|secret|token|key|auth|credential|signature", re.I)
# Schemes whose URLs carry a bare token where a user name would be.
_TOKEN_AS_USER_SCHEMES = ("nats", "tls")
# A URL with a scheme, up to the first character that cannot be part of it in running text.
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")


def redact_url(url: str) -> str:
    """The URL with its password and secret query values replaced by ***; other text unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _fallback(url)
    if not parts.scheme or (not parts.netloc and not parts.query):
        return url
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, has_password, _ = credentials.partition(":")
        if has_password:
            netloc = f"{user}:{MASK}@{host}"
        elif parts.scheme.startswith(_TOKEN_AS_USER_SCHEMES):
            netloc = f"{MASK}@{host}"  # nats://TOKEN@host: the "user" is the secret
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{quote(name, safe='')}={MASK if _SECRET_OPTION.search(name) else quote(value, safe='')}"
            for name, value in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL inside `text` redacted (an error message or log line that quotes a store)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def _fallback(url: str) -> str:
    """A URL too malformed to parse: hide everything between the scheme and the host."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    return f"{scheme}://{MASK}@{rest.rpartition('@')[2]}"


def redacted_run(run: run_pb2.Run) -> run_pb2.Run:
    """A copy of a run record fit for a reply: its store URL without secrets."""
    copy = run_pb2.Run()
    copy.CopyFrom(run)
    copy.store = redact_url(run.store)
    return copy
