"""Reply parsing and repair: fences, cut-off JSON, odd names, names to ids, huge replies."""

from __future__ import annotations

import json

import pytest

from emergence.v1 import common_pb2
from runner.core.actions import action_type_of
from runner.core.parse import extract_json, parse_reply, resolve_action_type
from tests.unit.test_runner_fixtures import first_perception

PERCEPTION = first_perception()
OTHER = sorted(PERCEPTION.agents, key=lambda a: a.agent_id)[0]


def test_fenced_json_with_a_trailing_comma_is_repaired() -> None:
    reply = 'Sure.\n```json\n{"action": "rest", "parameters": {},}\n```'
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None and action_type_of(parsed.action) == "REST"
    assert parsed.repaired


def test_cut_off_json_is_closed_and_keeps_what_was_said() -> None:
    reply = '{"action": "gather", "parameters": {"resource": "wood"}, "reasoning": "I need fi'
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None
    assert parsed.action.gather.resource == common_pb2.RESOURCE_WOOD
    assert parsed.repaired and parsed.reasoning.startswith("I need fi")


@pytest.mark.parametrize(
    "reply",
    [
        '{"action": "drink", "parameters": {}, "reasoni',
        '{"action": "drink", "parameters": {}, "reasoning":',
        '{"action": "drink", "parameters": {}, "reasoning": ',
        '{"action": "drink", "parameters": {}, "',
        '{"action": "drink", "parameters": {},',
        "{'action': 'drink', 'parameters': {}, 'reas",
    ],
)
def test_a_reply_cut_inside_or_after_a_key_drops_the_key(reply: str) -> None:
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None and action_type_of(parsed.action) == "DRINK", parsed.reason
    assert parsed.repaired


def test_a_reply_cut_inside_nested_parameters_keeps_the_finished_ones() -> None:
    parsed = parse_reply(
        '{"action": "gather", "parameters": {"resource": "wood", "amou', PERCEPTION
    )
    assert parsed.action is not None
    assert parsed.action.gather.resource == common_pb2.RESOURCE_WOOD


@pytest.mark.parametrize(
    ("name", "expected", "rest"),
    [
        ("GatherFood", "GATHER", ["food"]),
        ("trade_offer", "TRADE_OFFER", []),
        ("TradeOffer", "TRADE_OFFER", []),
        ("Build Campfire", "BUILD", ["campfire"]),
        ("talk", "COMMUNICATE", []),
        ("levitate", "", ["levitate"]),
    ],
)
def test_action_names_in_any_case_style(name: str, expected: str, rest: list[str]) -> None:
    assert resolve_action_type(name) == (expected, rest)


def test_unknown_action_is_a_parse_failure_with_a_reason() -> None:
    parsed = parse_reply('{"action": "levitate", "parameters": {}}', PERCEPTION)
    assert parsed.action is None
    assert "levitate" in parsed.reason


def test_prose_without_json_is_a_parse_failure() -> None:
    parsed = parse_reply("I will think about it tomorrow.", PERCEPTION)
    assert parsed.action is None and "no JSON" in parsed.reason


def test_agent_and_location_names_resolve_to_ids() -> None:
    talk = parse_reply(
        json.dumps({"action": "Communicate", "parameters": {"target": OTHER.name, "text": "hi"}}),
        PERCEPTION,
    )
    assert talk.action is not None
    assert talk.action.communicate.target_agent_id == OTHER.agent_id
    known = next(route for route in PERCEPTION.routes if route.destination_id)
    move = parse_reply(
        json.dumps({"action": "move", "parameters": {"destination": known.destination_name}}),
        PERCEPTION,
    )
    assert move.action is not None and move.action.move.destination_id == known.destination_id


def test_single_quotes_and_python_literals_are_repaired() -> None:
    reply = "{'action': 'vote', 'parameters': {'proposal_id': 'p-1', 'yes': True}}"
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None and parsed.action.vote.yes is True
    assert parsed.repaired


def test_combined_names_fill_the_parameter_from_the_rest_of_the_name() -> None:
    parsed = parse_reply('{"action": "BuildCampfire"}', PERCEPTION)
    assert parsed.action is not None
    assert parsed.action.build.structure == common_pb2.STRUCTURE_KIND_CAMPFIRE


def test_amounts_in_several_shapes_become_resource_amounts() -> None:
    reply = json.dumps({
        "action": "trade_offer",
        "parameters": {"target": OTHER.name, "give": "2 berries", "want": {"water": 3}},
    })  # fmt: skip
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None
    offer = parsed.action.trade_offer
    assert [(a.resource, a.quantity) for a in offer.give] == [(common_pb2.RESOURCE_BERRY, 2)]
    assert [(a.resource, a.quantity) for a in offer.want] == [(common_pb2.RESOURCE_WATER, 3)]


def test_ten_kilobyte_reply_with_the_object_at_the_end() -> None:
    reply = "Let me think. " + "hmm " * 2500 + '{"action": "drink"}'
    assert len(reply) > 10_000
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None and action_type_of(parsed.action) == "DRINK"


def test_ten_kilobyte_message_text_is_cut_to_the_engine_limit() -> None:
    reply = json.dumps({"action": "broadcast", "parameters": {"text": "a" * 10_000}})
    parsed = parse_reply(reply, PERCEPTION)
    assert parsed.action is not None and len(parsed.action.broadcast.text) == 500


def test_braces_inside_strings_do_not_end_the_object() -> None:
    data, repaired, problem = extract_json('{"action": "pray", "parameters": {"text": "}{"}} tail')
    assert data == {"action": "pray", "parameters": {"text": "}{"}}
    assert not repaired and problem == ""
