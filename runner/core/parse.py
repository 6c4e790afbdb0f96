"""Turn a model's reply into an action: find the JSON, repair it, map names to ids, or say why not."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from emergence.v1 import action_pb2, perception_pb2
from runner.core.actions import make_action
from runner.core.vocabulary import (
    ACTION_NAMES,
    ACTION_TYPES,
    FOODS,
    PROPOSAL_KINDS,
    RESOURCES,
    STRUCTURES,
    params_field,
)

MAX_REPLY_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """`action` is None when nothing usable was found; `reason` then says why."""

    action: action_pb2.Action | None
    repaired: bool = False
    reason: str = ""
    reasoning: str = ""
    goal_update: str = ""


# ----- finding and repairing the JSON object ------------------------------------------------
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)


def _first_object(text: str) -> tuple[str, bool]:
    """The first balanced {...} (strings respected); if cut off, the rest closed up. (text, cut)"""
    start = text.find("{")
    if start < 0:
        return "", False
    stack: list[str] = []
    in_string, escaped, quote = False, False, ""
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                in_string = False
            continue
        if char in "\"'":
            in_string, quote = True, char
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if stack:
                stack.pop()
            if not stack:
                return text[start : index + 1], False
    tail = text[start:].rstrip()
    if in_string:
        tail += quote
    if stack and stack[-1] == "}":
        # Cut inside a key or right after it: the key has no value, so it goes.
        tail = _DANGLING_KEY.sub(r"\1", tail)
    tail = re.sub(r"[,:]\s*$", "", tail)
    return tail + "".join(reversed(stack)), True


_DANGLING_KEY = re.compile(r"""([{,])\s*(["'])(?:(?!\2)[^\\]|\\.)*\2\s*:?\s*$""")


def _repairs(candidate: str) -> list[str]:
    """Progressively bolder rewrites of almost-JSON."""
    no_trailing = re.sub(r",\s*([}\]])", r"\1", candidate)
    literals = re.sub(r"\bTrue\b", "true", no_trailing)
    literals = re.sub(r"\bFalse\b", "false", literals)
    literals = re.sub(r"\bNone\b", "null", literals)
    quoted_keys = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', literals)
    single = re.sub(r"'([^'\"]*)'", r'"\1"', quoted_keys)
    return [candidate, no_trailing, literals, quoted_keys, single]


def extract_json(reply: str) -> tuple[dict[str, Any] | None, bool, str]:
    """(object, repaired, problem). Fences stripped, first object found, common slips mended."""
    text = reply[:MAX_REPLY_CHARS]
    fenced = _FENCE.search(text)
    repaired = False
    if fenced and "{" in fenced.group(1):
        text, repaired = fenced.group(1), True
    candidate, cut = _first_object(text)
    if not candidate:
        return None, repaired, "the reply holds no JSON object"
    repaired = repaired or cut
    for attempt, rewritten in enumerate(_repairs(candidate)):
        try:
            value = json.loads(rewritten)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value, repaired or attempt > 0, ""
    return None, True, "the JSON object could not be repaired"


# ----- names ----------------------------------------------------------------------------------
def _words(name: str) -> list[str]:
    """ "GatherFood", "gather_food", "gather-food", "Gather Food" -> ["gather", "food"]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.strip())
    return [word for word in re.split(r"[\s_\-.()]+", spaced.lower()) if word]


_SYNONYMS = {
    "talk": "COMMUNICATE", "say": "COMMUNICATE", "speak": "COMMUNICATE", "message": "COMMUNICATE",
    "sleep": "REST", "wait": "NO_ACTION", "nothing": "NO_ACTION", "idle": "NO_ACTION",
    "travel": "MOVE", "go": "MOVE", "walk": "MOVE", "collect": "GATHER", "forage": "GATHER",
    "fish": "GATHER", "offer": "TRADE_OFFER", "trade": "TRADE_OFFER", "accept": "TRADE_ACCEPT",
    "reject": "TRADE_REJECT", "decline": "TRADE_REJECT", "share": "GIVE", "post": "BROADCAST",
    "announce": "BROADCAST", "search": "EXPLORE", "plant": "FARM_PLANT", "harvest": "FARM_HARVEST",
    "learn": "READ", "worship": "PRAY", "fight": "ATTACK", "consume": "EAT",
}  # fmt: skip


def resolve_action_type(name: str) -> tuple[str, list[str]]:
    """("GATHER", ["food"]) for "GatherFood": the longest known action prefix and the rest."""
    words = _words(name)
    for length in range(len(words), 0, -1):
        joined = "_".join(words[:length]).upper()
        if joined in ACTION_TYPES:
            return joined, words[length:]
        if length == 1 and words[0] in _SYNONYMS:
            return _SYNONYMS[words[0]], words[1:]
    return "", words


class _Names:
    """Agent, place, route, structure and offer names from the perception, mapped to ids."""

    def __init__(self, perception: perception_pb2.Perception) -> None:
        self.ids: dict[str, str] = {}
        for other in perception.agents:
            self._add(other.name, other.agent_id)
        for message in perception.messages:
            self._add(message.from_name, message.from_agent_id)
        for offer in perception.trade_offers:
            self._add(offer.from_name, offer.from_agent_id)
        for route in perception.routes:
            if route.destination_id:
                self._add(route.destination_name, route.destination_id)
        self._add(perception.self.location_name, perception.self.location_id)
        self._add(perception.self.name, perception.self.agent_id)

    def _add(self, name: str, identifier: str) -> None:
        if name and identifier:
            self.ids.setdefault(name.lower(), identifier)
            self.ids.setdefault(identifier.lower(), identifier)

    def resolve(self, value: Any) -> str:
        text = str(value).strip().strip("[]").strip()
        if text.lower().startswith("route:"):
            return text
        return self.ids.get(text.lower(), text)


# Parameter names a model may use, mapped to the proto field of each action.
_FIELD_ALIASES = {
    "target_agent_id": ("target_agent_id", "target", "agent", "agent_id", "to", "recipient", "who", "with"),
    "partner_id": ("partner_id", "partner", "target", "agent", "agent_id", "with"),
    "student_id": ("student_id", "student", "target", "agent", "agent_id", "to"),
    "destination_id": ("destination_id", "destination", "location", "location_id", "place", "to", "target"),
    "route_id": ("route_id", "route", "path"),
    "resource": ("resource", "item", "what", "type", "target"),
    "food": ("food", "resource", "item", "what"),
    "structure": ("structure", "kind", "building", "type", "what"),
    "structure_id": ("structure_id", "structure", "plot", "building", "target", "target_id"),
    "trade_id": ("trade_id", "offer_id", "offer", "id", "trade"),
    "proposal_id": ("proposal_id", "proposal", "id"),
    "group_id": ("group_id", "group", "id"),
    "knowledge": ("knowledge", "skill", "topic", "what", "subject"),
    "text": ("text", "message", "content", "words", "prayer", "description"),
    "give": ("give", "offer", "giving", "items_given"),
    "want": ("want", "request", "wanted", "in_return", "receive"),
    "items": ("items", "item", "give", "resources"),
    "item": ("item", "resource"),
    "seed": ("seed", "food", "crop"),
    "member_ids": ("member_ids", "members", "agents", "agent_ids"),
    "agent_ids": ("agent_ids", "agents", "members", "targets"),
    "name": ("name", "group_name", "title"),
    "yes": ("yes", "vote", "approve", "support"),
    "kind": ("kind", "type"),
    "terms": ("terms", "text", "proposal"),
    "construct": ("construct", "to", "deity", "spirit"),
    "target_id": ("target_id", "target", "structure_id", "location_id"),
    "rule": ("rule", "law", "text"),
    "reason": ("reason",),
}  # fmt: skip


def _find(parameters: dict[str, Any], field: str) -> Any:
    lowered = {str(key).lower(): value for key, value in parameters.items()}
    for alias in _FIELD_ALIASES.get(field, (field,)):
        if alias in lowered and lowered[alias] not in (None, ""):
            return lowered[alias]
    return None


def _resource_name(value: Any, perception: perception_pb2.Perception, kind: str) -> str:
    words = _words(str(value))
    name = "_".join(words).upper().removeprefix("RESOURCE_")
    if name.endswith("S") and name[:-1] in RESOURCES:
        name = name[:-1]
    if name in RESOURCES:
        return name
    if name in ("FOOD", "BERRIES") or name.startswith("FOOD"):
        for option in _options(perception, kind):
            if option.upper() in FOODS:
                return option.upper()
        return "BERRY"
    return name


def _options(perception: perception_pb2.Perception, action_type: str) -> list[str]:
    for available in perception.available_actions:
        if ACTION_NAMES.get(available.action_type) == action_type:
            return [o for o in available.options.get("candidates", "").split(",") if o]
    return []


def _amounts(value: Any, perception: perception_pb2.Perception) -> list[tuple[str, int]]:
    """[{"resource": "wood", "quantity": 2}], {"wood": 2}, "2 wood" or ["wood", 2] -> pairs."""
    if isinstance(value, dict) and ("resource" in value or "item" in value):
        value = [value]
    if isinstance(value, dict):
        value = [{"resource": key, "quantity": qty} for key, qty in value.items()]
    if isinstance(value, str):
        match = re.match(r"\s*(\d+)\s+(\w+)", value)
        value = (
            [{"resource": match.group(2), "quantity": int(match.group(1))}]
            if match
            else [{"resource": value, "quantity": 1}]
        )
    pairs = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict):
            resource = entry.get("resource") or entry.get("item") or entry.get("name")
            quantity = entry.get("quantity", entry.get("amount", entry.get("qty", 1)))
        elif isinstance(entry, list | tuple) and len(entry) == 2:
            resource, quantity = entry
        else:
            continue
        name = _resource_name(resource, perception, "")
        if name in RESOURCES:
            pairs.append((name, max(1, int(float(quantity or 1)))))
    return pairs


def _field_value(field: Any, value: Any, perception: perception_pb2.Perception,
                 names: _Names, action_type: str) -> Any:  # fmt: skip
    enum = field.enum_type.name if field.enum_type is not None else ""
    if enum == "Resource":
        return _resource_name(value, perception, action_type)
    if enum == "StructureKind":
        return "_".join(_words(str(value))).upper().removeprefix("STRUCTURE_KIND_")
    if enum == "ProposalKind":
        return "_".join(_words(str(value))).upper().removeprefix("PROPOSAL_KIND_")
    if field.message_type is not None:
        pairs = _amounts(value, perception)
        return pairs if field.is_repeated else (pairs[0] if pairs else None)
    if field.is_repeated:
        values = value if isinstance(value, list) else [value]
        return [names.resolve(item) for item in values]
    if field.type == field.TYPE_BOOL:
        return value if isinstance(value, bool) else str(value).lower() in ("yes", "true", "1")
    if field.name in ("text", "terms", "rule", "reason", "name", "construct", "knowledge"):
        text = str(value)
        return text.lower().replace(" ", "_") if field.name == "knowledge" else text[:500]
    return names.resolve(value)


def build_action(
    action_type: str, parameters: dict[str, Any], rest: list[str],
    perception: perception_pb2.Perception,
) -> tuple[action_pb2.Action | None, str]:  # fmt: skip
    """The action with every parameter mapped; words after the name ("GatherWater") fill in."""
    names = _Names(perception)
    descriptor = action_pb2.Action.DESCRIPTOR.fields_by_name[params_field(action_type)].message_type
    assert descriptor is not None  # every params field of Action is a message
    values: dict[str, Any] = {}
    for field in descriptor.fields:
        raw = _find(parameters, field.name)
        if raw is None and rest and field.enum_type is not None:
            raw = "_".join(rest)
        if raw is None:
            continue
        value = _field_value(field, raw, perception, names, action_type)
        if value is None or value == []:
            continue
        enums = {"Resource": RESOURCES, "StructureKind": STRUCTURES, "ProposalKind": PROPOSAL_KINDS}
        if field.enum_type is not None and value not in enums.get(field.enum_type.name, {}):
            return None, f"{action_type.lower()}: unknown {field.name} {raw!r}"
        values[field.name] = value
    if action_type == "MOVE" and str(values.get("destination_id", "")).startswith("route:"):
        values["route_id"] = str(values.pop("destination_id")).removeprefix("route:")
    if str(values.get("route_id", "")).startswith("route:"):
        values["route_id"] = str(values["route_id"]).removeprefix("route:")
    return make_action(perception.agent_id, action_type, **values), ""


def parse_reply(reply: str, perception: perception_pb2.Perception) -> ParsedReply:
    """The action a reply asks for, repaired where possible, or None with the reason."""
    data, repaired, problem = extract_json(reply)
    if data is None:
        return ParsedReply(None, repaired, problem)
    lowered = {str(key).lower(): value for key, value in data.items()}
    name = lowered.get("action") or lowered.get("action_type") or lowered.get("type") or ""
    if isinstance(name, dict):
        lowered = {**lowered, **{str(k).lower(): v for k, v in name.items()}}
        name = lowered.get("name") or lowered.get("type") or ""
    action_type, rest = resolve_action_type(str(name))
    reasoning = str(
        lowered.get("reasoning") or lowered.get("reason") or lowered.get("thought") or ""
    )
    goal = str(lowered.get("goal_update") or lowered.get("goal") or "")
    if not action_type:
        return ParsedReply(None, repaired, f"unknown action {str(name)[:40]!r}", reasoning, goal)
    parameters = lowered.get("parameters") or lowered.get("params") or lowered.get("args") or {}
    if not isinstance(parameters, dict):
        parameters = {"target": parameters}
    for key, value in lowered.items():
        if key not in ("action", "action_type", "parameters", "params", "reasoning", "goal_update"):
            parameters.setdefault(key, value)
    repaired = repaired or str(name) != action_type.lower()
    action, problem = build_action(action_type, parameters, rest, perception)
    if action is None:
        return ParsedReply(None, repaired, problem, reasoning, goal)
    return ParsedReply(action, repaired, "", reasoning[:2000], goal[:200])
