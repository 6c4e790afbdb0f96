"""Social actions: talk, broadcast, trade, give, groups, teaching, conspiracy, prayer, freeform."""

from __future__ import annotations

from engine.core.actions import Action, Rejection, describe_items, items_dict, reject
from engine.core.context import (
    Phase,
    add_xp,
    agents_here,
    carry_load,
    change_reputation,
    change_trust,
    crossing,
    may_use,
    skill_level,
    structures_here,
)
from engine.core.deception import record_claims
from engine.core.discovery import learn
from engine.core.environment import end_standing_offer
from engine.core.events import amounts
from engine.core.knowledge import EXPERIENCE_ITEMS
from engine.core.rules import Done, Handler, declined, need_items, need_knowledge, target_here
from engine.core.state import (
    Access,
    Agent,
    BoardMessage,
    Group,
    PrivateMessage,
    Structure,
    TradeOffer,
)

BOARD_KEEP = 20  # invented: a board shows its 20 newest messages


def _text_problem(phase: Phase, text: str, limit: int) -> Rejection | None:
    if not text.strip():
        return reject("INVALID_ACTION", "the text is empty; say something")
    if len(text) > limit:
        return reject(
            "INVALID_ACTION",
            f"the text has {len(text)} characters; the limit is {limit}",
            length=len(text),
            limit=limit,
        )
    return None


def check_communicate(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return target_here(phase.state, agent, action.target_id, "listener") or _text_problem(
        phase, action.text, phase.config.actions.text_limit
    )


def do_communicate(phase: Phase, agent: Agent, action: Action) -> Done:
    target = phase.state.agents[action.target_id]
    message_id = phase.state.next_id("message")
    target.inbox.append(
        PrivateMessage(message_id, phase.state.tick, agent.id, agent.name, action.text)
    )
    record_claims(phase, agent, target.id, action.text)
    trust = phase.config.trust.conversation
    change_trust(phase, target, agent.id, trust, "conversation")
    change_trust(phase, agent, target.id, trust, "conversation")
    phase.emit(
        "MESSAGE_SENT",
        agent.id,
        agent.location_id,
        "message",
        {
            "message_id": message_id,
            "recipient_ids": [target.id],
            "text": action.text,
            "channel": "private",
        },
    )
    return Done(f"spoke to {target.name}", shows=oral(agent))


def oral(agent: Agent) -> str:
    """Talking and teaching by word of mouth are how oral tradition is practised and overheard
    (by one who knows it): a speaker who also handled clay may come to written language, and
    those who listen may pick the tradition up (observation). Before the tradition, talk is
    practice of plain communication, from which a group's members may come to the tradition."""
    return "oral_tradition" if "oral_tradition" in agent.knowledge else "basic_communication"


def check_broadcast(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return _text_problem(phase, action.text, phase.config.actions.text_limit)


def do_broadcast(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    location = state.locations[agent.location_id]
    region_wide = bool(structures_here(state, location.id, "MEETING_HALL"))
    message = BoardMessage(
        state.next_id("message"), state.tick, agent.id, agent.name, action.text, location.id,
        region_wide=region_wide, world_wide=state.internet_unlocked,
    )  # fmt: skip
    board = state.world_board if state.internet_unlocked else location.board
    board.append(message)
    del board[:-BOARD_KEEP]
    channel = "world" if state.internet_unlocked else "broadcast"
    phase.emit(
        "MESSAGE_SENT",
        agent.id,
        location.id,
        "message",
        {"message_id": message.id, "recipient_ids": [], "text": action.text, "channel": channel},
    )
    return Done("posted a message on the board")


def check_trade_offer(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """To an agent here: a pending offer. To a market here: a standing offer. To a route or
    structure of yours: its toll (`want`; empty for none)."""
    state = phase.state
    structure = state.structures.get(action.target_id)
    if structure is not None and structure.kind == "MARKET":
        return _check_market_offer(phase, agent, action, structure)
    if structure is not None or action.target_id in state.routes:
        return _check_set_toll(phase, agent, action)
    problem = target_here(phase.state, agent, action.target_id, "trading partner")
    if problem:
        return problem
    if not action.items or not action.want:
        return reject(
            "INVALID_ACTION", "a trade offer needs something to give and something wanted"
        )
    problem = need_items(agent, items_dict(action.items), "this offer")
    if problem:
        return problem
    return need_knowledge(agent, "basic_trade", "trading")


def _check_market_offer(
    phase: Phase, agent: Agent, action: Action, market: Structure
) -> Rejection | None:
    if market.location_id != agent.location_id:
        return reject(
            "WRONG_LOCATION",
            f"that market is at {phase.state.locations[market.location_id].name}; post offers "
            "at a market where you stand",
            structure=market.id,
        )
    if not action.items or not action.want:
        return reject(
            "INVALID_ACTION", "a standing offer needs something to give and something wanted"
        )
    problem = need_items(agent, items_dict(action.items), "this standing offer")
    if problem:
        return problem
    problem = need_knowledge(agent, "basic_trade", "trading")
    if problem:
        return problem
    if not may_use(phase.state, agent, market):
        return reject("PERMISSION_DENIED", "this market is closed to you", structure=market.id)
    return None


def tollable(phase: Phase, structure: Structure) -> bool:
    """Structures whose use can cost a toll: bridges (crossing), walls (entry), storage (use)."""
    kind = structure.kind
    return kind in ("BRIDGE", "WALL") or (
        kind != "MARKET" and phase.config.structures.kinds[kind].storage > 0
    )


def _toll_target(phase: Phase, agent: Agent, target_id: str) -> tuple[Access, str, str, bool]:
    """(access, owner id, what it is, stands here) of a route or structure."""
    state = phase.state
    structure = state.structures.get(target_id)
    if structure is not None:
        here = structure.location_id == agent.location_id
        return structure.access, structure.owner_id, f"the {structure.kind.lower()}", here
    route = state.routes[target_id]
    access, owner_id = crossing(state, route)
    here = agent.location_id in (route.from_location_id, route.to_location_id)
    far_end = route.other_end(route.from_location_id)
    name = (
        f"the route {state.locations[route.from_location_id].name}–{state.locations[far_end].name}"
    )
    return access, owner_id, name, here


def _check_set_toll(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    structure = phase.state.structures.get(action.target_id)
    if structure is not None and not tollable(phase, structure):
        return reject(
            "INVALID_TARGET",
            f"a {structure.kind.lower().replace('_', ' ')} takes no toll: tolls apply to routes, "
            "bridges, walls and storage",
            structure=structure.id,
        )
    _, owner_id, what, here = _toll_target(phase, agent, action.target_id)
    if not here:
        return reject("WRONG_LOCATION", f"stand at {what} to set its toll", target=action.target_id)
    if action.items:
        return reject(
            "INVALID_ACTION",
            "a toll gives nothing: leave give empty and name the toll in want (empty want "
            "removes the toll)",
        )
    if owner_id != agent.id:
        return reject(
            "PERMISSION_DENIED",
            f"only the owner sets the toll of {what}; claim it first if it is unowned",
            target=action.target_id,
        )
    return None


def _do_set_toll(phase: Phase, agent: Agent, action: Action) -> Done:
    access, _, what, _ = _toll_target(phase, agent, action.target_id)
    access.toll = items_dict(action.want)
    if not access.toll:
        return Done(f"removed the toll of {what}")
    return Done(f"set the toll of {what} to {describe_items(access.toll)}", shows="basic_trade")


def _do_market_offer(phase: Phase, agent: Agent, action: Action, market: Structure) -> Done:
    state = phase.state
    give = items_dict(action.items)
    offer = TradeOffer(
        id=state.next_id("trade"), from_agent_id=agent.id, to_agent_id="", give=give,
        want=items_dict(action.want), created_tick=state.tick,
        expires_tick=state.tick + phase.config.actions.market_offer_ttl_ticks, market_id=market.id,
    )  # fmt: skip
    for resource, quantity in sorted(give.items()):
        phase.book.deposit(agent, market, resource, quantity)
    state.trades[offer.id] = offer
    phase.emit(
        "TRADE_OFFERED", agent.id, agent.location_id, "trade",
        {"trade_id": offer.id, "offerer_id": agent.id, "accepter_id": "",
         "given": amounts(offer.give), "received": amounts(offer.want),
         "reason": f"standing offer at market {market.id}"},
    )  # fmt: skip
    return Done(
        f"posted a standing offer at the market: {describe_items(give)} for "
        f"{describe_items(offer.want)} [{offer.id}]; the market holds your goods until someone "
        "accepts or you withdraw it (trade_reject)",
        lost=give,
        shows="basic_trade",
    )


def do_trade_offer(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    structure = state.structures.get(action.target_id)
    if structure is not None and structure.kind == "MARKET":
        return _do_market_offer(phase, agent, action, structure)
    if structure is not None or action.target_id in state.routes:
        return _do_set_toll(phase, agent, action)
    offer = TradeOffer(
        id=state.next_id("trade"),
        from_agent_id=agent.id,
        to_agent_id=action.target_id,
        give=items_dict(action.items),
        want=items_dict(action.want),
        created_tick=state.tick,
        expires_tick=state.tick + phase.config.actions.trade_offer_ttl_ticks,
    )
    state.trades[offer.id] = offer
    phase.emit(
        "TRADE_OFFERED",
        agent.id,
        agent.location_id,
        "trade",
        {
            "trade_id": offer.id,
            "offerer_id": agent.id,
            "accepter_id": offer.to_agent_id,
            "given": amounts(offer.give),
            "received": amounts(offer.want),
        },
    )
    target = state.agents[offer.to_agent_id]
    return Done(
        f"offered {target.name} {describe_items(offer.give)} for {describe_items(offer.want)} "
        f"[{offer.id}]",
        shows="basic_trade",
    )


def _offer_for(
    phase: Phase, agent: Agent, trade_id: str
) -> tuple[TradeOffer | None, Rejection | None]:
    offer = phase.state.trades.get(trade_id)
    if offer is None:
        return None, reject(
            "INVALID_TARGET", f"no open trade offer has the id {trade_id}; it may have expired"
        )
    if offer.market_id:
        market = phase.state.structures.get(offer.market_id)
        if market is None or market.location_id != agent.location_id:
            where = phase.state.locations[market.location_id].name if market else "a market"
            return None, reject(
                "WRONG_LOCATION",
                f"that standing offer is at the market in {where}; go there to take it up",
                trade=offer.id,
            )
        return offer, None
    if offer.to_agent_id != agent.id:
        return None, reject("PERMISSION_DENIED", "that offer is not addressed to you")
    return offer, None


def check_trade_accept(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    offer, problem = _offer_for(phase, agent, action.target_id)
    if problem or offer is None:
        return problem
    if offer.market_id and offer.from_agent_id == agent.id:
        return reject("INVALID_TARGET", "that standing offer is yours; trade_reject withdraws it")
    problem = need_items(agent, offer.want, "accepting this offer")
    if problem:
        return problem
    offerer = phase.state.agents[offer.from_agent_id]
    if offer.market_id:
        market = phase.state.structures[offer.market_id]
        if not offerer.alive:
            return reject("UNAVAILABLE_TARGET", f"{offerer.name} has died; the offer lapses")
        if not may_use(phase.state, agent, market):
            return reject("PERMISSION_DENIED", "this market is closed to you")
    elif not offerer.alive:
        return reject("UNAVAILABLE_TARGET", f"{offerer.name} has died; the offer lapses")
    weights = phase.config.resources.weights
    net = sum(weights.get(r, 1) * q for r, q in offer.give.items()) - sum(
        weights.get(r, 1) * q for r, q in offer.want.items()
    )
    if carry_load(phase.state, agent) + net > phase.config.resources.carry_capacity:
        return reject("CAPACITY_EXCEEDED", "you could not carry what you would receive")
    return None


def consent_trade_accept(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """What the offerer still holds is found out at the exchange, not before."""
    offer = phase.state.trades[action.target_id]
    if offer.market_id:
        return None  # the market holds the goods
    offerer = phase.state.agents[offer.from_agent_id]
    if any(offerer.holds(r) < q for r, q in offer.give.items()):
        return reject(
            "UNAVAILABLE_TARGET",
            f"the trade fell through: {offerer.name} did not hand over what was offered",
            target=offerer.id,
            trade=offer.id,
        )
    return None


def do_trade_accept(phase: Phase, agent: Agent, action: Action) -> Done:
    """The atomic swap: both legs through the ledger, then trust and trading skill grow."""
    state = phase.state
    offer = state.trades.pop(action.target_id)
    offerer = state.agents[offer.from_agent_id]
    market = state.structures.get(offer.market_id) if offer.market_id else None
    for resource, quantity in sorted(offer.give.items()):
        if market is not None:
            phase.book.withdraw(agent, market, resource, quantity)
        else:
            phase.book.transfer(offerer, agent, resource, quantity, f"trade {offer.id}")
    for resource, quantity in sorted(offer.want.items()):
        phase.book.transfer(agent, offerer, resource, quantity, f"trade {offer.id}")
    trust = phase.config.trust.trade
    change_trust(phase, agent, offerer.id, trust, "trade")
    change_trust(phase, offerer, agent.id, trust, "trade")
    add_xp(agent, "TRADING")
    add_xp(offerer, "TRADING")
    offerer.notifications.append(f"{agent.name} accepted your trade")
    phase.emit(
        "TRADE_COMPLETED",
        agent.id,
        agent.location_id,
        "trade",
        {
            "trade_id": offer.id,
            "offerer_id": offerer.id,
            "accepter_id": agent.id,
            "given": amounts(offer.give),
            "received": amounts(offer.want),
        },
    )
    if market is not None:
        _remember_price(phase, market, offer)
    return Done(
        f"traded {describe_items(offer.want)} for {describe_items(offer.give)} with {offerer.name}",
        gained=dict(offer.give),
        lost=dict(offer.want),
        shows="basic_trade",
    )


def _remember_price(phase: Phase, market: Structure, offer: TradeOffer) -> None:
    """A market remembers the last price of each kind of deal and posts it on the board here."""
    state = phase.state
    deal = f"{'+'.join(sorted(offer.give))} for {'+'.join(sorted(offer.want))}"
    price = f"{describe_items(offer.give)} for {describe_items(offer.want)}"
    market.prices[deal] = price
    board = state.locations[market.location_id].board
    text = f"market price: {price}"
    message_id = state.next_id("message")
    board.append(
        BoardMessage(message_id, state.tick, market.id, "market", text, market.location_id)
    )
    del board[:-BOARD_KEEP]


def check_trade_reject(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    offer = phase.state.trades.get(action.target_id)
    if offer is not None and offer.market_id:
        if offer.from_agent_id != agent.id:
            return reject(
                "PERMISSION_DENIED",
                "only its offerer withdraws a standing offer; pass it by if you do not want it",
            )
        problem = _offer_for(phase, agent, action.target_id)[1]
        if problem:
            return problem
        weights = phase.config.resources.weights
        back = sum(weights.get(r, 1) * q for r, q in offer.give.items())
        if carry_load(phase.state, agent) + back > phase.config.resources.carry_capacity:
            return reject(
                "CAPACITY_EXCEEDED", "you could not carry the goods the market would give back"
            )
        return None
    return _offer_for(phase, agent, action.target_id)[1]


def do_trade_reject(phase: Phase, agent: Agent, action: Action) -> Done:
    offer = phase.state.trades[action.target_id]
    if offer.market_id:
        end_standing_offer(phase, offer, "withdrawn")
        return Done(
            f"withdrew your standing offer and took back {describe_items(offer.give)}",
            gained=dict(offer.give),
        )
    del phase.state.trades[action.target_id]
    offerer = phase.state.agents[offer.from_agent_id]
    change_trust(phase, offerer, agent.id, phase.config.trust.trade_rejected, "trade rejected")
    offerer.notifications.append(f"{agent.name} turned down your trade")
    phase.emit(
        "TRADE_FAILED",
        agent.id,
        agent.location_id,
        "trade",
        {
            "trade_id": offer.id,
            "offerer_id": offerer.id,
            "accepter_id": agent.id,
            "reason": "rejected",
        },
    )
    return Done(f"turned down {offerer.name}'s offer")


def check_give(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    problem = target_here(phase.state, agent, action.target_id, "recipient")
    if problem:
        return problem
    if not action.items:
        return reject("INVALID_ACTION", "give needs items: resource and quantity")
    return need_items(agent, items_dict(action.items), "this gift")


def do_give(phase: Phase, agent: Agent, action: Action) -> Done:
    target = phase.state.agents[action.target_id]
    items = items_dict(action.items)
    for resource, quantity in sorted(items.items()):
        phase.book.transfer(agent, target, resource, quantity, f"gift from {agent.name}")
    change_trust(phase, target, agent.id, phase.config.trust.gift, "gift")
    change_reputation(phase, agent, phase.config.trust.reputation_generous, "gift")
    target.notifications.append(f"{agent.name} gave you {describe_items(items)}")
    phase.emit(
        "ITEMS_GIVEN",
        agent.id,
        agent.location_id,
        "trade",
        {
            "offerer_id": agent.id,
            "accepter_id": target.id,
            "given": amounts(items),
            "reason": "gift",
        },
    )
    return Done(f"gave {target.name} {describe_items(items)}", lost=items)


def check_form_group(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.target_id:
        return _check_invite(phase, agent, action)
    if not action.name.strip() or len(action.name) > 60:
        return reject("INVALID_ACTION", "a group needs a name of 1 to 60 characters")
    if len(action.agent_ids) > phase.config.actions.max_group_members:
        return reject("INVALID_ACTION", "too many members for one group")
    for member_id in action.agent_ids:
        problem = target_here(phase.state, agent, member_id, "group member")
        if problem:
            return problem
    return need_knowledge(agent, "group_formation", "forming a group")


def _check_invite(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """A member asks those here to join its group: the group grows by whom its members vouch for."""
    group = phase.state.groups.get(action.target_id)
    if group is None or agent.id not in group.member_ids:
        return reject("INVALID_TARGET", "you can invite others only to a group you belong to")
    if not action.agent_ids:
        return reject("INVALID_ACTION", "name whom to invite")
    room = phase.config.actions.max_group_members - len(group.member_ids)
    if len(action.agent_ids) > room:
        return reject("INVALID_ACTION", f"{group.name} has room for {max(0, room)} more")
    for member_id in action.agent_ids:
        problem = target_here(phase.state, agent, member_id, "invitee")
        if problem:
            return problem
        if member_id in group.member_ids:
            name = phase.state.agents[member_id].name
            return reject("UNAVAILABLE_TARGET", f"{name} already belongs to {group.name}")
    return None


def _do_invite(phase: Phase, agent: Agent, action: Action) -> Done:
    group = phase.state.groups[action.target_id]
    fresh = sorted(set(action.agent_ids) - group.invited_ids)
    group.invited_ids.update(action.agent_ids)
    for member_id in fresh:
        phase.state.agents[member_id].notifications.append(
            f"{agent.name} invites you to {group.name}"
        )
    names = ", ".join(phase.state.agents[member_id].name for member_id in sorted(action.agent_ids))
    return Done(f"invited {names} to {group.name}")


def do_form_group(phase: Phase, agent: Agent, action: Action) -> Done:
    if action.target_id:
        return _do_invite(phase, agent, action)
    state = phase.state
    group = Group(state.next_id("group"), action.name.strip(), agent.id, state.tick)
    group.member_ids.add(agent.id)
    group.invited_ids.update(action.agent_ids)
    group.roles[agent.id] = "founder"
    state.groups[group.id] = group
    agent.group_ids.add(group.id)
    for member_id in sorted(group.invited_ids):
        state.agents[member_id].notifications.append(f"{agent.name} invites you to {group.name}")
    phase.emit(
        "GROUP_FORMED",
        agent.id,
        agent.location_id,
        "group",
        {"group_id": group.id, "name": group.name, "member_ids": sorted(group.member_ids)},
    )
    return Done(f"founded {group.name} [{group.id}]", shows="group_formation")


def check_join_group(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    group = phase.state.groups.get(action.target_id)
    if group is None:
        return reject("INVALID_TARGET", f"no group has the id {action.target_id}")
    if agent.id in group.member_ids:
        return reject("UNAVAILABLE_TARGET", f"you already belong to {group.name}")
    if agent.id not in group.invited_ids:
        return reject("PERMISSION_DENIED", f"{group.name} has not invited you; ask a member")
    return None


def do_join_group(phase: Phase, agent: Agent, action: Action) -> Done:
    group = phase.state.groups[action.target_id]
    group.invited_ids.discard(agent.id)
    group.member_ids.add(agent.id)
    agent.group_ids.add(group.id)
    for member_id in sorted(group.member_ids - {agent.id}):
        change_trust(phase, agent, member_id, phase.config.trust.group_join, "joined group")
        member = phase.state.agents[member_id]
        change_trust(phase, member, agent.id, phase.config.trust.group_join, "joined group")
    phase.emit(
        "GROUP_JOINED",
        agent.id,
        agent.location_id,
        "group",
        {"group_id": group.id, "name": group.name, "member_ids": sorted(group.member_ids)},
    )
    return Done(f"joined {group.name}")


def check_leave_group(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    group = phase.state.groups.get(action.target_id)
    if group is None or agent.id not in group.member_ids:
        return reject("INVALID_TARGET", "you are not a member of that group")
    return None


def do_leave_group(phase: Phase, agent: Agent, action: Action) -> Done:
    group = phase.state.groups[action.target_id]
    group.member_ids.discard(agent.id)
    agent.group_ids.discard(group.id)
    phase.emit(
        "GROUP_LEFT",
        agent.id,
        agent.location_id,
        "group",
        {"group_id": group.id, "name": group.name, "member_ids": sorted(group.member_ids)},
    )
    return Done(f"left {group.name}")


def check_teach(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    problem = target_here(phase.state, agent, action.target_id, "student")
    if problem:
        return problem
    if action.knowledge not in agent.knowledge or action.knowledge in EXPERIENCE_ITEMS:
        return reject(
            "UNKNOWN_ACTION", f"you cannot teach {action.knowledge!r}: you do not know it"
        )
    return None


def consent_teach(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """The student's energy and what they already know are theirs to tell."""
    student = phase.state.agents[action.target_id]
    if (
        student.energy < phase.config.actions.student_energy
        or action.knowledge in student.knowledge
    ):
        return declined(student, " the lesson")
    return None


def do_teach(phase: Phase, agent: Agent, action: Action) -> Done:
    student = phase.state.agents[action.target_id]
    student.energy -= phase.config.actions.student_energy
    config = phase.config.actions
    chance = config.teach_base_success + config.teach_skill_bonus * skill_level(
        phase.state, agent, "TEACHING"
    )
    success = phase.rng(f"teach:{agent.id}").random() < chance
    add_xp(agent, "TEACHING")
    if success:
        learn(phase, student, action.knowledge, "TEACHING", agent.id)
    change_trust(phase, student, agent.id, phase.config.trust.teach, "taught")
    change_trust(phase, agent, student.id, phase.config.trust.teach / 2, "taught")
    phase.emit(
        "KNOWLEDGE_TAUGHT",
        agent.id,
        agent.location_id,
        "knowledge",
        {
            "knowledge": action.knowledge,
            "method": "DISCOVERY_METHOD_TEACHING",
            "teacher_id": agent.id,
            "success": success,
        },
    )
    shows = oral(agent)
    if success:
        return Done(f"taught {student.name} {action.knowledge}", shows=shows)
    return Done(
        f"tried to teach {student.name} {action.knowledge}, but it did not stick", shows=shows
    )


def check_conspire(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if not action.agent_ids:
        return reject("INVALID_ACTION", "name the agents to conspire with")
    for other_id in action.agent_ids:
        other = phase.state.agents.get(other_id)
        if other is None or other_id == agent.id:
            return reject("INVALID_TARGET", f"no other agent has the id {other_id}")
        if not other.alive:
            return reject("UNAVAILABLE_TARGET", f"{other.name} is dead")
    return _text_problem(phase, action.text, phase.config.actions.text_limit)


def do_conspire(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    message_id = state.next_id("message")
    recipients = tuple(sorted(set(action.agent_ids)))
    for other_id in recipients:
        others = tuple(r for r in recipients if r != other_id)
        state.agents[other_id].inbox.append(
            PrivateMessage(message_id, state.tick, agent.id, agent.name, action.text, others)
        )
    phase.emit(
        "MESSAGE_SENT",
        agent.id,
        agent.location_id,
        "message",
        {
            "message_id": message_id,
            "recipient_ids": list(recipients),
            "text": action.text,
            "channel": "conspiracy",
        },
    )
    return Done(f"sent a secret message to {len(recipients)} agents")


def check_pray(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return _text_problem(phase, action.text, phase.config.actions.prayer_text_limit)


def do_pray(phase: Phase, agent: Agent, action: Action) -> Done:
    witnesses = [a.id for a in agents_here(phase.state, agent.location_id, exclude=agent.id)]
    phase.emit(
        "PRAYER",
        agent.id,
        agent.location_id,
        "prayer",
        {"text": action.text, "construct": action.name, "witness_ids": witnesses},
    )
    return Done("prayed" + (f" to {action.name}" if action.name else ""))


HANDLERS: dict[str, Handler] = {
    "COMMUNICATE": Handler(check_communicate, do_communicate),
    "BROADCAST": Handler(check_broadcast, do_broadcast),
    "TRADE_OFFER": Handler(check_trade_offer, do_trade_offer),
    "TRADE_ACCEPT": Handler(check_trade_accept, do_trade_accept, consent_trade_accept),
    "TRADE_REJECT": Handler(check_trade_reject, do_trade_reject),
    "GIVE": Handler(check_give, do_give),
    "FORM_GROUP": Handler(check_form_group, do_form_group),
    "JOIN_GROUP": Handler(check_join_group, do_join_group),
    "LEAVE_GROUP": Handler(check_leave_group, do_leave_group),
    "TEACH": Handler(check_teach, do_teach, consent_teach),
    "CONSPIRE": Handler(check_conspire, do_conspire),
    "PRAY": Handler(check_pray, do_pray),
}
