"""The values prompt templates are rendered from: plain words and numbers read off a perception."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from emergence.action_words import DESCRIPTIONS, standard_form
from emergence.v1 import common_pb2, perception_pb2
from runner.core.memory import AgentMemory, MemoryItem
from runner.core.vocabulary import ACTION_NAMES, RESOURCE_NAMES, STRUCTURE_NAMES

TRAIT_WORDS = {
    "curiosity": ("incurious", "curious"),
    "cooperation": ("self-reliant", "cooperative"),
    "aggression": ("gentle", "aggressive"),
    "risk_tolerance": ("cautious", "daring"),
    "industriousness": ("easy-going", "industrious"),
    "sociability": ("reserved", "sociable"),
    "honesty": ("sly", "honest"),
    "loyalty": ("independent", "loyal"),
}


def _enum_word(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix).lower().replace("_", " ")


def personality_words(personality: common_pb2.Personality) -> list[str]:
    """Strong traits as words ("very curious", "gentle"); middling traits are left out."""
    words = []
    for trait, (low, high) in TRAIT_WORDS.items():
        value = float(getattr(personality, trait))
        if value >= 0.8:
            words.append(f"very {high}")
        elif value >= 0.6:
            words.append(high)
        elif value <= 0.2:
            words.append(f"very {low}")
        elif value <= 0.4:
            words.append(low)
    return words


def perception_json(perception: perception_pb2.Perception) -> str:
    """The whole perception as compact JSON, for machine readers of the prompt."""
    data = json_format.MessageToDict(perception, preserving_proto_field_name=True)
    # Others' writing is cut to the length the readable part shows (a 10 kB message stays small).
    for key, field in (("messages", "text"), ("board", "text"), ("proposals", "terms")):
        for entry in data.get(key, []):
            if isinstance(entry.get(field), str):
                entry[field] = one_line(entry[field])
    # Agent-written text must not be able to close the block it sits in.
    return json.dumps(data, separators=(",", ":"), sort_keys=True).replace("<", "\\u003c")


# Longest piece of someone else's writing shown in a prompt; the rest is cut with "…".
QUOTE_CHARS = 300


def one_line(text: str, limit: int = QUOTE_CHARS) -> str:
    """Agent-written text on one line (no fake headings or list items), at most `limit` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """Someone's words as a quoted string: shown as what they said, never as instructions."""
    return json.dumps(one_line(text, limit), ensure_ascii=False)


def _amounts(values: Any) -> list[str]:
    return [f"{a.quantity} {RESOURCE_NAMES.get(a.resource, '?').lower()}" for a in values]


def prompt_context(
    perception: perception_pb2.Perception,
    memory: AgentMemory,
    memories: list[MemoryItem],
    *,
    include_perception_json: bool = False,
) -> dict[str, Any]:
    """Everything the templates may use; StrictUndefined makes any other name an error.
    `perception_json` is "" unless asked for: only a machine reader (the stub model) uses it, and
    it would double the prompt."""
    me = perception.self
    clock = perception.clock
    return {
        "agent": {
            "id": me.agent_id,
            "name": me.name,
            "age": int(me.age),
            "life_stage": _enum_word(common_pb2.LifeStage, me.life_stage, "LIFE_STAGE_"),
            "personality": personality_words(me.personality),
            "knowledge": sorted(me.knowledge),
            "skills": [
                f"{_enum_word(common_pb2.Skill, s.skill, 'SKILL_')} (lvl {s.level})"
                for s in me.skills
            ],
            "groups": list(me.group_names),
            "partner_id": me.partner_id,
        },
        "state": {
            "energy": round(me.vitals.energy),
            "health": round(me.vitals.health),
            "hunger": round(me.vitals.hunger),
            "thirst": round(me.vitals.thirst),
            "inventory": _amounts(me.inventory),
            "carry": f"{me.carry_load}/{me.carry_capacity}",
            "goals": [one_line(goal.text, 120) for goal in memory.goals],
        },
        "world": {
            "tick": int(perception.tick),
            "time_of_day": _enum_word(common_pb2.TimeOfDay, clock.time_of_day, "TIME_OF_DAY_"),
            "season": _enum_word(common_pb2.Season, clock.season, "SEASON_"),
            "weather": _enum_word(common_pb2.Weather, clock.weather, "WEATHER_"),
            "days_until_season_change": int(clock.days_until_season_change),
            "era": _enum_word(common_pb2.Era, perception.era, "ERA_"),
        },
        "here": _here(perception),
        "pending": _pending(perception),
        "notifications": list(perception.notifications),
        "memories": [
            {"tick": item.tick, "kind": item.kind, "summary": one_line(item.summary)}
            for item in memories
        ],
        "actions": [
            {
                "name": ACTION_NAMES.get(a.action_type, "NO_ACTION").lower(),
                "form": a.form or standard_form(ACTION_NAMES.get(a.action_type, ""), a.options),
                # Perceptions leave the standard description out; it is in the shared table.
                "description": a.description
                or DESCRIPTIONS.get(ACTION_NAMES.get(a.action_type, ""), ""),
                "energy": round(a.energy_cost),
            }
            for a in perception.available_actions
        ],
        "last_result": _last_result(perception),
        "perception_json": perception_json(perception) if include_perception_json else "",
    }


def _here(perception: perception_pb2.Perception) -> dict[str, Any]:
    me = perception.self
    return {
        "location": me.location_name,
        "location_id": me.location_id,
        "region": perception.location_region,
        "description": perception.location_description,
        "resources": [
            f"{RESOURCE_NAMES.get(r.resource, '?').lower()}: {r.amount_word}"
            + (" (on the ground)" if r.on_ground else "")
            for r in perception.resources
        ],
        "structures": [
            f"{STRUCTURE_NAMES.get(s.kind, '?').lower()} [{s.structure_id}] owner {s.owner or 'none'}"
            f", {s.durability_percent}%" + (", crop ripe" if s.crop_ripe else "")
            for s in perception.structures
        ]
        + (
            [f"and {perception.structures_here - len(perception.structures)} more not shown"]
            if perception.structures_here > len(perception.structures)
            else []
        ),
        "agents": [
            f"{a.name} [{a.agent_id}] {a.relationship_word} (trust {a.trust:+.2f}), {a.last_activity}"
            for a in perception.agents
        ],
        "crowd": crowd_line(perception),
        "board": [f"{m.author_name} wrote: {quoted(m.text)}" for m in perception.board],
        "messages": [
            f"{m.from_name} [{m.from_agent_id}] said: {quoted(m.text)}" for m in perception.messages
        ],
        "routes": [
            f"{r.destination_name} [{r.destination_id or 'route:' + r.route_id}] {r.travel_ticks} ticks"
            + (" (blocked by weather)" if r.blocked_by_weather else "")
            for r in perception.routes
        ],
    }


def crowd_line(perception: perception_pb2.Perception) -> str:
    """Everyone here in one line when the perception lists only some of them; "" otherwise."""
    here = perception.agents_here
    listed = len(perception.agents)
    if here.count <= listed:
        return ""
    parts = [
        f"{count} {word}"
        for count, word in (
            (here.children, "children"), (here.adults, "adults"), (here.elders, "elders"),
            (here.strangers, "strangers to you"), (here.known, "known to you"),
            (here.friends, "friends"), (here.distrusted, "distrusted"), (here.kin, "kin"),
            (here.group_members, "in your groups"),
        )
        if count
    ]  # fmt: skip
    return (
        f"{here.count} people here in all, {listed} shown above ({', '.join(parts)}); "
        'an action on "any agent here" takes the id of any of them: one shown above, or one '
        "you know"
    )


def _pending(perception: perception_pb2.Perception) -> list[str]:
    pending = [
        f"trade offer [{o.trade_id}] from {o.from_name}: gives {', '.join(_amounts(o.give))}"
        f" for {', '.join(_amounts(o.want))}" + ("" if o.can_accept else " (you lack the goods)")
        for o in perception.trade_offers
    ]
    pending += [
        f"proposal [{p.proposal_id}] by {p.proposer_name}: {quoted(p.terms)}"
        for p in perception.proposals
    ]
    pending += [
        f"invitation to join {g.group_name} [{g.group_id}] from {g.founder_name}"
        for g in perception.group_invitations
    ]
    pending += [
        f"{b.from_name} [{b.from_agent_id}] asks to "
        f"{ACTION_NAMES.get(b.action_type, '?').lower()} with you"
        for b in perception.bond_requests
    ]
    return pending


def _last_result(perception: perception_pb2.Perception) -> str:
    result = perception.last_result
    if not result.agent_id:
        return ""
    name = ACTION_NAMES.get(result.action_type, "?").lower()
    if result.success:
        return f"{name}: {result.outcome}"
    return f"{name} failed: {result.rejection.message}"
