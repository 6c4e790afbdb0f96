"""Resolve phase: the validation pipeline (world spec §7), conflicts (§7.1) and execution."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.core import act_build, act_craft, act_social, act_society, act_survival
from engine.core.actions import ACTION_TYPES, Action, ActionResult, Rejection, reject
from engine.core.config import SURVIVAL_ACTIONS
from engine.core.context import Phase, agents_here, carry_room, is_child
from engine.core.discovery import experiment_with, observe
from engine.core.rules import Done, Handler
from engine.core.state import Agent, WorldState
from engine.core.world import RESOURCE_NAMES

HANDLERS: dict[str, Handler] = {
    **act_survival.HANDLERS,
    **act_build.HANDLERS,
    **act_social.HANDLERS,
    **act_craft.HANDLERS,
    **act_society.HANDLERS,
}
CHILD_FORBIDDEN = frozenset(
    {"BUILD", "ATTACK", "STEAL", "TRADE_OFFER", "TRADE_ACCEPT", "REPRODUCE", "MARRY", "ENFORCE"}
)
# Fields each action type must carry (syntax, step 1 of the pipeline).
REQUIRED: dict[str, tuple[str, ...]] = {
    "GATHER": ("resource",), "EAT": ("resource",), "BUILD": ("structure",),
    "REPAIR": ("target_id",), "DEMOLISH": ("target_id",), "IMPROVE_ROUTE": ("target_id",),
    "DEPOSIT": ("target_id", "items"), "WITHDRAW": ("target_id", "items"), "PICKUP": ("items",),
    "COMMUNICATE": ("target_id", "text"), "BROADCAST": ("text",),
    "TRADE_OFFER": ("target_id",), "TRADE_ACCEPT": ("target_id",),
    "TRADE_REJECT": ("target_id",), "GIVE": ("target_id", "items"), "FORM_GROUP": ("name",),
    "JOIN_GROUP": ("target_id",), "LEAVE_GROUP": ("target_id",),
    "TEACH": ("target_id", "knowledge"), "FARM_PLANT": ("target_id",),
    "FARM_HARVEST": ("target_id",), "CRAFT": ("resource",), "COOK": ("resource",),
    "WRITE": ("knowledge",), "READ": ("knowledge",), "CLAIM": ("target_id",),
    "LEGISLATE": ("target_id", "text"), "ENFORCE": ("target_id", "text"),
    "REPRODUCE": ("target_id",), "STEAL": ("target_id", "resource"), "ATTACK": ("target_id",),
    "PROPOSE": ("kind", "text"), "VOTE": ("target_id",), "MARRY": ("target_id",),
    "DIVORCE": ("target_id",), "CONSPIRE": ("agent_ids", "text"), "PRAY": ("text",),
    "FREEFORM": ("text",),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Submission:
    """One agent's answer for the tick. action None + invalid_reason = malformed runner output."""

    agent_id: str
    action: Action | None
    order: int
    invalid_reason: str = ""
    timed_out: bool = False


def energy_cost(state: WorldState, agent: Agent | None, action_type: str) -> float:
    """The energy an action costs now; `agent` matters only for an old agent's move."""
    cost = state.config.actions.energy.get(action_type, 0.0)
    if state.is_night:
        cost *= state.config.time.night_energy_cost_multiplier
    if (
        action_type == "MOVE"
        and agent is not None
        and agent.age(state.tick) >= agent.lifespan * state.config.vitals.frail_fraction
    ):
        cost *= state.config.vitals.frail_move_cost_multiplier
    return round(cost, 4)


def refusal(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """The rule check, then (only for an action actually taken) the others' consent."""
    handler = HANDLERS[action.type]
    problem = handler.check(phase, agent, action)
    if problem is None and handler.consent is not None:
        return handler.consent(phase, agent, action)
    return problem


def syntax_problem(action: Action) -> Rejection | None:
    if action.type not in ACTION_TYPES:
        return reject("INVALID_ACTION", f"unknown action type {action.type!r}")
    for name in REQUIRED.get(action.type, ()):
        if not getattr(action, name):
            return reject(
                "INVALID_ACTION",
                f"{action.type.lower()} needs the parameter {name}",
                parameter=name,
            )
    resources = [action.resource] if action.resource else []
    resources += [r for r, _ in action.items] + [r for r, _ in action.want]
    for resource in resources:
        if resource not in RESOURCE_NAMES:
            return reject("INVALID_ACTION", f"unknown resource {resource!r}", resource=resource)
    for _, quantity in (*action.items, *action.want):
        if quantity <= 0:
            return reject("INVALID_ACTION", "quantities must be positive whole numbers")
    return None


def vitals_problem(state: WorldState, agent: Agent, action: Action) -> Rejection | None:
    if not agent.alive:
        return reject("DEAD", "the dead cannot act")
    if agent.in_transit:
        return reject(
            "IN_TRANSIT", f"you are travelling; {agent.travel_remaining} ticks until you arrive"
        )
    if is_child(state, agent) and action.type in CHILD_FORBIDDEN:
        return reject(
            "TOO_YOUNG", "children cannot do that until they come of age", age=agent.age(state.tick)
        )
    cost = energy_cost(state, agent, action.type)
    if agent.energy <= 0 and action.type not in ("REST", "NO_ACTION", "EAT", "DRINK"):
        return reject(
            "INSUFFICIENT_ENERGY", "you are exhausted: only rest (or eat, drink) is possible"
        )
    if (
        agent.energy < state.config.vitals.low_energy_threshold
        and action.type not in SURVIVAL_ACTIONS
    ):
        return reject(
            "INSUFFICIENT_ENERGY",
            f"below {state.config.vitals.low_energy_threshold:g} energy only survival actions are possible; rest or eat",
            energy=f"{agent.energy:.0f}",
        )
    if cost > agent.energy:
        return reject(
            "INSUFFICIENT_ENERGY",
            f"{action.type.lower()} needs {cost:g} energy, you have {agent.energy:.0f}",
            needs=f"{cost:g}",
            energy=f"{agent.energy:.0f}",
        )
    return None


FREEFORM_VERBS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("drink", "sip"), "DRINK"),
    (("eat", "devour", "consume"), "EAT"),
    (("rest", "sleep", "nap", "lie down"), "REST"),
    (("gather", "collect", "pick", "forage", "chop", "fish"), "GATHER"),
    (("explore", "scout", "search"), "EXPLORE"),
)


def map_freeform(agent: Agent, text: str) -> Action | None:
    """The feasibility table: a verb and (where needed) a resource named in the text."""
    lowered = text.lower()
    for verbs, action_type in FREEFORM_VERBS:
        if not any(verb in lowered for verb in verbs):
            continue
        if action_type in ("GATHER", "EAT"):
            for resource in RESOURCE_NAMES:
                if resource.lower() in lowered or resource.lower().rstrip("y") + "ies" in lowered:
                    return Action(action_type, resource=resource)
            return None
        return Action(action_type)
    return None


class Resolver:
    def __init__(self, state: WorldState) -> None:
        self.phase = Phase(state)
        self.state = state
        self.results: dict[str, ActionResult] = {}

    def result(
        self,
        agent_id: str,
        action: Action | None,
        rejection: Rejection | None,
        done: Done | None = None,
        energy: float = 0.0,
        action_type: str = "",
    ) -> None:
        kind = action_type or (action.type if action else "NO_ACTION")
        result = ActionResult(
            agent_id=agent_id, tick=self.state.tick, action_type=kind,
            success=rejection is None, rejection=rejection,
            outcome=done.outcome if done else (rejection.message if rejection else ""),
            energy_spent=energy, gained=dict(done.gained) if done else {},
            lost=dict(done.lost) if done else {}, action=action,
        )  # fmt: skip
        self.results[agent_id] = result
        agent = self.state.agents.get(agent_id)
        location_id = agent.location_id if agent else ""
        details: dict[str, object] = {
            "action_type": f"ACTION_TYPE_{kind}",
            "outcome": result.outcome,
            "energy_spent": energy,
        }
        if rejection is not None:
            details["rejection"] = {
                "reason": f"REJECTION_REASON_{rejection.reason}",
                "message": rejection.message,
                "details": dict(rejection.details),
            }
        self.phase.emit(
            "ACTION_SUCCEEDED" if rejection is None else "ACTION_REJECTED",
            agent_id, location_id, "action", details,
        )  # fmt: skip

    def validate(self, submission: Submission) -> Rejection | None:
        agent = self.state.agents.get(submission.agent_id)
        if submission.timed_out:
            return reject("TIMEOUT", "no decision arrived before the deadline")
        if submission.action is None:
            return reject(
                "INVALID_ACTION", submission.invalid_reason or "the action could not be read"
            )
        if agent is None:
            return reject("INVALID_TARGET", f"no agent has the id {submission.agent_id}")
        action = submission.action
        problem = syntax_problem(action) or vitals_problem(self.state, agent, action)
        if problem:
            return problem
        if action.type == "FREEFORM":
            return None
        return refusal(self.phase, agent, action)

    def run(self, submissions: Sequence[Submission]) -> None:
        ordered = sorted(submissions, key=lambda s: (s.order, s.agent_id))
        seen: set[str] = set()
        valid: list[Submission] = []
        for submission in ordered:
            if submission.agent_id in seen:
                continue  # one action per agent per tick: the first counts
            seen.add(submission.agent_id)
            problem = self.validate(submission)
            if problem:
                self.result(submission.agent_id, submission.action, problem)
            else:
                valid.append(submission)
        shares = self.split_gathers(valid)
        for submission in valid:
            self.execute(submission, shares)

    def split_gathers(self, valid: list[Submission]) -> dict[str, int]:
        """Divisible resources: proportional (floor) when demand exceeds supply, rest to the earliest."""
        demand: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for submission in valid:
            action = submission.action
            if action is None or action.type != "GATHER":
                continue
            agent = self.state.agents[submission.agent_id]
            wanted = min(
                act_survival.gather_yield(self.phase, agent, action.resource),
                carry_room(self.state, agent, action.resource),
            )
            demand.setdefault((agent.location_id, action.resource), []).append((agent.id, wanted))
        shares: dict[str, int] = {}
        for (location_id, resource), wants in demand.items():
            supply = self.state.locations[location_id].nodes[resource].available
            total = sum(quantity for _, quantity in wants)
            if total <= supply:
                shares.update(dict(wants))
                continue
            given = {
                agent_id: math.floor(quantity * supply / total) for agent_id, quantity in wants
            }
            remainder = supply - sum(given.values())
            for agent_id, quantity in wants:
                extra = min(remainder, quantity - given[agent_id])
                given[agent_id] += extra
                remainder -= extra
            shares.update(given)
        return shares

    def execute(self, submission: Submission, shares: dict[str, int]) -> None:
        agent = self.state.agents[submission.agent_id]
        action = submission.action
        assert action is not None
        if action.type == "FREEFORM":
            self.execute_freeform(agent, action)
            return
        if action.type == "GATHER":
            share = min(
                shares.get(agent.id, 0),
                self.state.locations[agent.location_id].nodes[action.resource].available,
            )
            if share <= 0:
                self.result(
                    agent.id,
                    action,
                    reject(
                        "CONFLICT_LOST", f"others gathered the last {action.resource.lower()} first"
                    ),
                )
                return
            action = replace(action, items=((action.resource, share),))
        problem = vitals_problem(self.state, agent, action) or refusal(self.phase, agent, action)
        if problem:
            conflict = reject(
                "CONFLICT_LOST",
                f"another action this tick came first: {problem.message}",
                **problem.details,
            )
            self.result(agent.id, submission.action, conflict)
            return
        cost = energy_cost(self.state, agent, action.type)
        agent.energy = max(0.0, agent.energy - cost)
        done = HANDLERS[action.type].execute(self.phase, agent, action)
        self.record_activity(agent, action.type, done)
        self.result(agent.id, submission.action, None, done, cost)

    def execute_freeform(self, agent: Agent, action: Action) -> None:
        cost = energy_cost(self.state, agent, "FREEFORM")
        mapped = map_freeform(agent, action.text)
        mapped_to = ""
        if mapped is not None:
            handler = HANDLERS[mapped.type]
            if mapped.type == "GATHER":
                node = self.state.locations[agent.location_id].nodes.get(mapped.resource)
                quantity = min(
                    act_survival.gather_yield(self.phase, agent, mapped.resource),
                    carry_room(self.state, agent, mapped.resource),
                    node.available if node else 0,
                )
                mapped = (
                    replace(mapped, items=((mapped.resource, quantity),))
                    if quantity > 0
                    else mapped
                )
            if refusal(self.phase, agent, mapped) is None and (
                mapped.type != "GATHER" or mapped.items
            ):
                agent.energy = max(0.0, agent.energy - cost)
                done = handler.execute(self.phase, agent, mapped)
                mapped_to = mapped.type.lower()
                self.emit_freeform(agent, action.text, mapped_to)
                self.record_activity(agent, "FREEFORM", done)
                self.result(
                    agent.id,
                    action,
                    None,
                    replace(done, outcome=f"{done.outcome} (as {mapped_to})"),
                    cost,
                    "FREEFORM",
                )
                return
        agent.energy = max(0.0, agent.energy - cost)
        self.emit_freeform(agent, action.text, "")
        done = Done("did something new; those present saw it")
        self.record_activity(agent, "FREEFORM", done)
        self.result(agent.id, action, None, done, cost, "FREEFORM")

    def emit_freeform(self, agent: Agent, text: str, mapped_to: str) -> None:
        witnesses = [a.id for a in agents_here(self.state, agent.location_id, exclude=agent.id)]
        self.phase.emit(
            "FREEFORM_ACT",
            agent.id,
            agent.location_id,
            "freeform",
            {"text": text, "mapped_to": mapped_to, "witness_ids": witnesses},
        )

    def record_activity(self, agent: Agent, action_type: str, done: Done) -> None:
        agent.last_activity = done.outcome
        self.state.activity.setdefault(agent.location_id, []).append(
            (agent.id, action_type, done.shows)
        )
        experiment_with(self.phase, agent, done.shows)

    def observation_learning(self) -> None:
        """Onlookers may pick up knowledge they watched being used at their location."""
        for location_id in sorted(self.state.activity):
            shown = sorted(
                {(agent_id, item) for agent_id, _, item in self.state.activity[location_id] if item}
            )
            if not shown:
                continue
            for watcher in agents_here(self.state, location_id):
                for actor_id, item in shown:
                    if actor_id != watcher.id:
                        observe(self.phase, watcher, item)
