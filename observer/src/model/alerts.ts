// Alerts the dashboard derives from what it already receives, beside the ones the engine stores:
// firsts (crime, law, religion, war, ...), low population, economic collapse, injected world events.
import { AlertSeverity, ConstructCategory, EventType, type Event } from "../gen/emergence/v1/event_pb.js";
import type { TickSummary } from "../gen/emergence/v1/run_pb.js";
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { enumLabel, toNumber } from "./labels.js";
import { uniqueByTick } from "./series.js";

export interface DerivedAlert {
  key: string;
  tick: number;
  severity: AlertSeverity;
  message: string;
}

/** Population below this share of the starting population raises an alert. */
export const LOW_POPULATION_SHARE = 0.25;
/** Gini of wealth above this is runaway inequality. */
export const RUNAWAY_GINI = 0.8;

const FIRSTS: ReadonlyArray<[string, (event: Event) => boolean]> = [
  ["crime", (event) => event.type === EventType.THEFT_OCCURRED || event.type === EventType.DECEPTION_COMMITTED],
  ["fight", (event) => event.type === EventType.COMBAT_INITIATED],
  ["law", (event) => event.type === EventType.LAW_ENACTED],
  ["war", (event) => event.type === EventType.WAR_DECLARED],
  ["trade", (event) => event.type === EventType.TRADE_COMPLETED],
  ["group", (event) => event.type === EventType.GROUP_FORMED],
  ["religion", (event) => constructOf(event) === ConstructCategory.RELIGION],
  ["government", (event) => constructOf(event) === ConstructCategory.GOVERNANCE],
  ["art", (event) => constructOf(event) === ConstructCategory.CULTURAL],
];

function constructOf(event: Event): ConstructCategory | null {
  return event.type === EventType.SOCIAL_CONSTRUCT_FORMED && event.details.case === "construct" ? event.details.value.category : null;
}

/** Alerts in tick order, newest last. `startingPopulation` 0 turns the population alert off. */
export function derivedAlerts(summaries: readonly TickSummary[], events: readonly Event[], startingPopulation: number): DerivedAlert[] {
  const alerts: DerivedAlert[] = [];
  const ordered = [...events].sort((a, b) => toNumber(a.tick) - toNumber(b.tick) || a.sequence - b.sequence);
  for (const [name, matches] of FIRSTS) {
    const first = ordered.find(matches);
    if (first) alerts.push({ key: `first-${name}`, tick: toNumber(first.tick), severity: AlertSeverity.INFO, message: `First ${name} at tick ${toNumber(first.tick)}` });
  }
  for (const event of ordered) {
    if (event.type !== EventType.WORLD_EVENT || event.details.case !== "worldEvent") continue;
    const where = event.details.value.region || event.details.value.locationId;
    alerts.push({
      key: `world-${toNumber(event.tick)}-${event.sequence}`,
      tick: toNumber(event.tick),
      severity: AlertSeverity.WARNING,
      message: `World event: ${event.details.value.kind}${where ? ` in ${where}` : ""}`,
    });
  }
  const ticks = uniqueByTick(summaries);
  if (startingPopulation > 0) {
    const low = ticks.find((summary) => summary.alive < startingPopulation * LOW_POPULATION_SHARE);
    if (low) alerts.push({ key: "population-low", tick: toNumber(low.tick), severity: AlertSeverity.CRITICAL, message: `Population fell to ${low.alive} (below ${Math.round(LOW_POPULATION_SHARE * 100)} % of ${startingPopulation})` });
  }
  const runaway = ticks.find((summary) => summary.gini > RUNAWAY_GINI);
  if (runaway) alerts.push({ key: "gini", tick: toNumber(runaway.tick), severity: AlertSeverity.WARNING, message: `Runaway inequality: Gini ${runaway.gini.toFixed(2)}` });
  const everHad = new Set<Resource>();
  const gone = new Set<Resource>();
  for (const summary of ticks) {
    for (const totals of summary.resources) {
      const total = toNumber(totals.heldByAgents) + toNumber(totals.atNodes) + toNumber(totals.inStructures) + toNumber(totals.onGround);
      if (total > 0) everHad.add(totals.resource);
      else if (everHad.has(totals.resource) && !gone.has(totals.resource)) {
        gone.add(totals.resource);
        alerts.push({ key: `collapse-${totals.resource}`, tick: toNumber(summary.tick), severity: AlertSeverity.CRITICAL, message: `Economic collapse: no ${enumLabel(Resource, totals.resource).toLowerCase()} left anywhere` });
      }
    }
  }
  return alerts.sort((a, b) => a.tick - b.tick || a.key.localeCompare(b.key));
}
