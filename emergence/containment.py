"""Containment: scan agent-written text for escape and injection patterns; hits become alerts.

The text is only ever data: it is never run, rendered as a template or spliced into a query.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re

from emergence.v1 import action_pb2

# (flag, pattern). Flags are short stable names the engine records with the alert. Spans inside
# a pattern are bounded ({0,200}) so a hostile text cannot make one scan take quadratic time.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "simulation-awareness",
        re.compile(
            r"\b(the|this) simulation\b|\bsimulated (world|reality)\b|\bwe are (in|inside) a\b"
            r"|\b(game|test) environment\b|\blanguage model\b|\bas an ai\b",
            re.I,
        ),
    ),
    (
        "prompt-injection",
        re.compile(
            r"\b(ignore|disregard|forget|override) (all |any )?(your |the |previous |prior )*"
            r"(instructions|rules|prompt|directives)\b|\bsystem prompt\b|\bdeveloper (mode|message)\b"
            r"|\bjailbreak\b|\bnew instructions\b|\byou are now\b",
            re.I,
        ),
    ),
    ("url", re.compile(r"\b(https?|ftp|file)://\S+|\bwww\.\S+\.\w{2,}", re.I)),
    (
        "shell-command",
        re.compile(
            r"(\brm\s+-rf\b|\bsudo\b|\bcurl\s+\S|\bwget\s+\S|\bchmod\s+\d|/bin/(ba)?sh\b|\$\([^)\n]{1,200}\)"
            r"|`[^`\n]{1,200}`|\bexec\(|\beval\(|\bos\.system\b|\bsubprocess\b|;\s*(cat|ls|nc)\s)",
            re.I,
        ),
    ),
    (
        "template-or-query",
        re.compile(
            r"\{\{.{0,200}?\}\}|\{%.{0,200}?%\}|\bdrop\s+table\b|\bunion\s+select\b|;\s*--", re.I
        ),
    ),
)
# Substrings (case-folded) at least one of which every match of the flag's pattern contains: a
# text with none of them cannot match, so its regex is not run. Most agent text is ordinary
# speech, and the engine scans every decision, so this keeps the scan cheap.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "simulation-awareness": ("simulat", "we are ", "environment", "language model", "as an ai"),
    "prompt-injection": (
        "ignore", "disregard", "forget", "override", "system prompt", "developer ", "jailbreak",
        "new instructions", "you are now",
    ),
    "url": ("://", "www."),
    "shell-command": (
        "rm", "sudo", "curl", "wget", "chmod", "/bin/", "$(", "`", "exec(", "eval(", "os.system",
        "subprocess", ";",
    ),
    "template-or-query": ("{{", "{%", "drop", "union", ";"),
}  # fmt: skip
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX_RUN = re.compile(r"(?:\\x[0-9a-fA-F]{2}){8,}|\b(?:[0-9a-fA-F]{2}){20,}\b")


def scan_text(text: str) -> list[str]:
    """Flags raised by one piece of text, in a fixed order, without repeats."""
    return list(_scan_text(text))


# The engine scans every decision, and a rule-driven mind writes the same few reasonings over
# and over: a repeated text is looked up, not scanned again.
@functools.lru_cache(maxsize=4096)
def _scan_text(text: str) -> tuple[str, ...]:
    folded = text.casefold()
    flags = [
        flag
        for flag, pattern in PATTERNS
        if any(trigger in folded for trigger in TRIGGERS[flag]) and pattern.search(text)
    ]
    if _encoded_payload(text):
        flags.append("encoded-payload")
    return tuple(flags)


def _encoded_payload(text: str) -> bool:
    if _HEX_RUN.search(text):
        return True
    for run in _BASE64_RUN.findall(text):
        # Long words of letters only are prose; payloads mix cases, digits and decode cleanly.
        if run.isalpha() and (run.islower() or run.isupper()):
            continue
        try:
            base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        return True
    return False


_WRITTEN_FIELDS = ("text", "terms", "rule", "name", "construct", "reason")


@functools.cache
def _written_fields(params_kind: str) -> tuple[str, ...]:
    """The free-text fields of one kind of action parameters (looked up once per kind)."""
    params = action_pb2.Action.DESCRIPTOR.fields_by_name[params_kind].message_type
    fields = params.fields_by_name if params is not None else {}
    return tuple(name for name in _WRITTEN_FIELDS if name in fields)


def action_texts(action: action_pb2.Action) -> list[str]:
    """Every free-text field an agent wrote into an action (messages, prayers, names, rules)."""
    kind = action.WhichOneof("params")
    if kind is None:
        return []
    names = _written_fields(kind)
    if not names:
        return []
    params = getattr(action, kind)
    return [str(text) for name in names if (text := getattr(params, name))]


def scan_action(action: action_pb2.Action, reasoning: str = "") -> list[str]:
    """Flags for everything written in an action and in the reasoning behind it."""
    return scan_action_texts(action, reasoning)[0]


def scan_action_texts(action: action_pb2.Action, reasoning: str = "") -> tuple[list[str], str]:
    """(flags, the texts that raised them joined by " | ") for an action and its reasoning."""
    flags: list[str] = []
    matched: list[str] = []
    for text in [*action_texts(action), reasoning]:
        found = scan_text(text)
        if found and text not in matched:
            matched.append(text)
        for flag in found:
            if flag not in flags:
                flags.append(flag)
    return flags, " | ".join(matched)
