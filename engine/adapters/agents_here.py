"""ListAgentsHere: everyone at an agent's location, paged, for the tick being decided."""

from __future__ import annotations

from emergence.mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from emergence.mesh.limits import quote
from emergence.v1 import engine_service_pb2
from engine.adapters.convert import _agent_sighting
from engine.core.perception import everyone_here
from engine.core.state import WorldState

PAGE_SIZE_MAX = 100
# Ids, tokens and page tokens are short; anything longer is refused before it is looked at.
FIELD_CHARS_MAX = 200
PAGE_PREFIX = "after:"


def _checked_text(value: str, name: str) -> str:
    if len(value) > FIELD_CHARS_MAX:
        raise InvalidArgument(f"{name}: at most {FIELD_CHARS_MAX} characters, got {len(value)}")
    if "\x00" in value:
        raise InvalidArgument(f"{name}: must not contain NUL characters")
    return value


def page_of_agents_here(
    state: WorldState, request: engine_service_pb2.ListAgentsHereRequest
) -> engine_service_pb2.ListAgentsHereResponse:
    """One page of the agents at the requested agent's location, in id order after the page
    token's id. `state` is the world the open decision window perceived; the caller has already
    checked the runner's token and that the agent is one of its own."""
    agent_id = _checked_text(request.agent_id, "agent_id")
    page_token = _checked_text(request.page_token, "page_token")
    if request.tick != state.tick:
        raise FailedPrecondition(
            f"tick {request.tick} is not being decided; ask during tick {state.tick}",
            hint="agents here are answered for the current decision window only",
        )
    agent = state.agents.get(agent_id)
    if agent is None or not agent.alive:
        raise NotFound(f"no living agent has the id {quote(agent_id)}")
    after = ""
    if page_token:
        if not page_token.startswith(PAGE_PREFIX):
            raise InvalidArgument(
                f"page_token {quote(page_token)} is not one this engine gave",
                hint="send the next_page_token of the previous answer, or nothing",
            )
        after = page_token.removeprefix(PAGE_PREFIX)
    size = request.page_size or PAGE_SIZE_MAX
    if size > PAGE_SIZE_MAX:
        raise InvalidArgument(f"page_size: at most {PAGE_SIZE_MAX}, got {request.page_size}")
    everyone = [] if agent.in_transit else list(everyone_here(state, agent))
    rest = [sighting for sighting in everyone if sighting.agent_id > after]
    page = rest[:size]
    more = len(rest) > size
    return engine_service_pb2.ListAgentsHereResponse(
        tick=state.tick,
        agents=[_agent_sighting(sighting) for sighting in page],
        next_page_token=f"{PAGE_PREFIX}{page[-1].agent_id}" if more else "",
        count=len(everyone),
    )
