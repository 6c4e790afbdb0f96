// Timeline view model: which events count as notable, filtering, and one readable line per event.
import { DeathCause, Era, Resource, StructureKind } from "../gen/emergence/v1/common_pb.js";
import { ActionType } from "../gen/emergence/v1/action_pb.js";
import { CombatOutcome, ConstructCategory, EventType, type Event } from "../gen/emergence/v1/event_pb.js";
import { enumLabel, shortId, toNumber } from "./labels.js";

/** Types the panels follow from tick 0 (the per-tick bookkeeping and every gathered berry are left out). */
export const NOTABLE_TYPES: readonly EventType[] = [
  EventType.AGENT_BORN,
  EventType.AGENT_DIED,
  EventType.KNOWLEDGE_DISCOVERED,
  EventType.KNOWLEDGE_TAUGHT,
  EventType.TRADE_COMPLETED,
  EventType.THEFT_OCCURRED,
  EventType.THEFT_FAILED,
  EventType.DECEPTION_COMMITTED,
  EventType.COMBAT_INITIATED,
  EventType.COMBAT_RESOLVED,
  EventType.WAR_DECLARED,
  EventType.TREATY_NEGOTIATED,
  EventType.ALLIANCE_FORMED,
  EventType.ALLIANCE_BROKEN,
  EventType.GROUP_FORMED,
  EventType.SOCIAL_CONSTRUCT_FORMED,
  EventType.SOCIAL_CONSTRUCT_DISBANDED,
  EventType.LAW_ENACTED,
  EventType.ERA_CHANGED,
  EventType.WORLD_EVENT,
  EventType.ALERT_RAISED,
  EventType.OPERATOR_ACTION,
  EventType.SIMULATION_PAUSED,
  EventType.SIMULATION_RESUMED,
  EventType.SIMULATION_ENDED,
  EventType.LEDGER_ANOMALY,
  EventType.STRUCTURE_BUILT,
];

export const CONFLICT_TYPES: ReadonlySet<EventType> = new Set([
  EventType.THEFT_OCCURRED,
  EventType.THEFT_FAILED,
  EventType.COMBAT_INITIATED,
  EventType.COMBAT_RESOLVED,
  EventType.WAR_DECLARED,
  EventType.TREATY_NEGOTIATED,
  EventType.ALLIANCE_FORMED,
  EventType.ALLIANCE_BROKEN,
]);

export interface EventFilter {
  types: ReadonlySet<EventType>;
  agentId: string;
  region: string;
  fromTick: number | null;
  toTick: number | null;
}

export const NO_FILTER: EventFilter = { types: new Set(), agentId: "", region: "", fromTick: null, toTick: null };

/** The events that pass every set part of the filter; the region is that of the event's location. */
export function filterEvents(
  events: readonly Event[],
  filter: EventFilter,
  regionOfLocation: ReadonlyMap<string, string>,
): Event[] {
  return events.filter((event) => {
    const tick = toNumber(event.tick);
    if (filter.types.size > 0 && !filter.types.has(event.type)) return false;
    if (filter.agentId && event.agentId !== filter.agentId) return false;
    if (filter.region && regionOfLocation.get(event.locationId) !== filter.region) return false;
    if (filter.fromTick !== null && tick < filter.fromTick) return false;
    if (filter.toTick !== null && tick > filter.toTick) return false;
    return true;
  });
}

/** Newest first, one per (tick, sequence), at most `limit`: the shape the live tail is kept in. */
export function mergeNewestFirst(current: readonly Event[], incoming: readonly Event[], limit: number): Event[] {
  const byKey = new Map<string, Event>();
  for (const event of [...current, ...incoming]) byKey.set(`${event.tick}:${event.sequence}`, event);
  return [...byKey.values()]
    .sort((a, b) => toNumber(b.tick) - toNumber(a.tick) || b.sequence - a.sequence)
    .slice(0, Math.max(0, limit));
}

type Names = ReadonlyMap<string, string>;

function who(names: Names, id: string): string {
  return id ? (names.get(id) ?? shortId(id)) : "someone";
}

function amounts(list: ReadonlyArray<{ resource: Resource; quantity: bigint }>): string {
  return list.map((amount) => `${toNumber(amount.quantity)} ${enumLabel(Resource, amount.resource).toLowerCase()}`).join(", ") || "nothing";
}

/** One sentence a person can read: "Ayla discovered agriculture", "Bo stole 3 berry from Cy". */
export function describeEvent(event: Event, names: Names): string {
  const actor = who(names, event.agentId);
  const details = event.details;
  switch (details.case) {
    case "agentBorn":
      return `${details.value.name || actor} was born (generation ${details.value.generation})`;
    case "agentDied":
      return `${actor} died of ${enumLabel(DeathCause, details.value.cause).toLowerCase()} at age ${toNumber(details.value.finalAge)}`;
    case "knowledge":
      return event.type === EventType.KNOWLEDGE_TAUGHT
        ? `${who(names, details.value.teacherId)} taught ${actor} ${details.value.knowledge}${details.value.success ? "" : " (failed)"}`
        : `${actor} discovered ${details.value.knowledge}${details.value.firstInRun ? " (first in the world)" : ""}`;
    case "trade":
      return `${who(names, details.value.offererId)} traded ${amounts(details.value.given)} with ${who(names, details.value.accepterId)} for ${amounts(details.value.received)}`;
    case "theft":
      return event.type === EventType.THEFT_FAILED
        ? `${actor} failed to steal from ${who(names, details.value.victimId)}`
        : `${actor} stole ${toNumber(details.value.quantity)} ${enumLabel(Resource, details.value.resource).toLowerCase()} from ${who(names, details.value.victimId)}`;
    case "combat":
      return `${who(names, details.value.attackerId)} fought ${who(names, details.value.defenderId)}: ${enumLabel(CombatOutcome, details.value.outcome).toLowerCase()}`;
    case "construct":
      return `${enumLabel(ConstructCategory, details.value.category)} "${details.value.name}" ${event.type === EventType.SOCIAL_CONSTRUCT_DISBANDED ? "disbanded" : "formed"} (${details.value.adherentIds.length} adherents)`;
    case "group":
      return `${actor} formed group "${details.value.name}" with ${details.value.memberIds.length} members`;
    case "worldEvent": {
      const where = details.value.region || details.value.locationId;
      return `World event: ${details.value.kind}${where ? ` in ${where}` : ""}`;
    }
    case "era":
      return `The world entered the ${enumLabel(Era, details.value.current).toLowerCase()} era${details.value.milestone ? ` (${details.value.milestone})` : ""}`;
    case "alert":
      return `Alert: ${details.value.message}`;
    case "operatorAction":
      return `Operator: ${details.value.action}${Object.keys(details.value.parameters).length ? ` ${JSON.stringify(details.value.parameters)}` : ""}`;
    case "simulationEnded":
      return `Simulation ended at tick ${toNumber(details.value.finalTick)}: ${details.value.reason}`;
    case "ledgerAnomaly":
      return `Ledger anomaly ${details.value.code}: ${details.value.message}`;
    case "diplomacy":
      return `${enumLabel(EventType, event.type)} between ${details.value.partyIds.map((id) => who(names, id)).join(", ") || actor}`;
    case "structure":
      return `${actor}: ${enumLabel(EventType, event.type).toLowerCase()} (${details.value.kind ? structureLabel(details.value.kind) : "structure"})`;
    case "movement":
      return `${actor} ${event.type === EventType.AGENT_ARRIVED ? "arrived" : "set out"}`;
    case "action": {
      const what = enumLabel(ActionType, details.value.actionType).toLowerCase();
      const why = details.value.rejection?.message || details.value.outcome;
      return `${actor}: ${what} ${event.type === EventType.ACTION_REJECTED ? "rejected" : "done"}${why ? ` (${why.slice(0, 80)})` : ""}`;
    }
    case "resource":
      return `${actor}: ${enumLabel(EventType, event.type).toLowerCase()} ${toNumber(details.value.quantity)} ${enumLabel(Resource, details.value.resource).toLowerCase()}`;
    case "relationship":
      return `${actor} now trusts ${who(names, details.value.otherAgentId)} ${details.value.current.toFixed(2)} (was ${details.value.previous.toFixed(2)})`;
    case "message":
      return `${actor} said: ${details.value.text.slice(0, 120)}`;
    default:
      return `${enumLabel(EventType, event.type)}${event.agentId ? ` · ${actor}` : ""}`;
  }
}

function structureLabel(kind: number): string {
  return enumLabel(StructureKind, kind).toLowerCase();
}
