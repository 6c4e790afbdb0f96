// Time series for charts, computed from live tick summaries and stored events (pure, no I/O).
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { EventType, type Event } from "../gen/emergence/v1/event_pb.js";
import type { TickSummary } from "../gen/emergence/v1/run_pb.js";
import { enumLabel, toNumber } from "./labels.js";

export interface Point {
  tick: number;
  value: number;
}

export interface NamedSeries {
  name: string;
  points: Point[];
}

/** Summaries in tick order with one per tick (a reconnect may deliver a tick twice; the last wins). */
export function uniqueByTick(summaries: readonly TickSummary[]): TickSummary[] {
  const byTick = new Map<number, TickSummary>();
  for (const summary of summaries) byTick.set(toNumber(summary.tick), summary);
  return [...byTick.entries()].sort((a, b) => a[0] - b[0]).map(([, summary]) => summary);
}

type SummaryNumber = (summary: TickSummary) => number;

const SUMMARY_METRICS = {
  alive: (summary) => summary.alive,
  dead: (summary) => summary.dead,
  births: (summary) => summary.births,
  deaths: (summary) => summary.deaths,
  averageAge: (summary) => summary.averageAge,
  trades: (summary) => summary.trades,
  gini: (summary) => summary.gini,
  events: (summary) => summary.events,
  persistMs: (summary) => summary.timings?.persistMs ?? 0,
  resolveMs: (summary) => summary.timings?.resolveMs ?? 0,
  decideMs: (summary) => summary.timings?.decideMs ?? 0,
  perceiveMs: (summary) => summary.timings?.perceiveMs ?? 0,
  llmCostUsd: (summary) => summary.llm?.costUsd ?? 0,
} satisfies Record<string, SummaryNumber>;

export type SummaryMetric = keyof typeof SUMMARY_METRICS;

/** One named number of every summary, in tick order. */
export function summarySeries(summaries: readonly TickSummary[], metric: SummaryMetric): Point[] {
  const read: SummaryNumber = SUMMARY_METRICS[metric];
  return uniqueByTick(summaries).map((summary) => ({ tick: toNumber(summary.tick), value: read(summary) }));
}

/** Running total of a per-tick count (births, deaths, trades) so far. */
export function cumulative(points: readonly Point[]): Point[] {
  let total = 0;
  return points.map((point) => {
    total += point.value;
    return { tick: point.tick, value: total };
  });
}

/** Every unit of each resource in the world over time (agents + nodes + structures + ground), largest first. */
export function resourceSeries(summaries: readonly TickSummary[], limit = 6): NamedSeries[] {
  const byResource = new Map<Resource, Point[]>();
  for (const summary of uniqueByTick(summaries)) {
    for (const totals of summary.resources) {
      const value =
        toNumber(totals.heldByAgents) + toNumber(totals.atNodes) + toNumber(totals.inStructures) + toNumber(totals.onGround);
      const points = byResource.get(totals.resource) ?? [];
      points.push({ tick: toNumber(summary.tick), value });
      byResource.set(totals.resource, points);
    }
  }
  const last = (points: Point[]): number => points[points.length - 1]?.value ?? 0;
  return [...byResource.entries()]
    .sort((a, b) => last(b[1]) - last(a[1]) || a[0] - b[0])
    .slice(0, Math.max(0, limit))
    .map(([resource, points]) => ({ name: enumLabel(Resource, resource), points }));
}

/** How many events fall into each bucket of `bucketTicks` ticks (bucket start as the tick). */
export function countByTick(events: readonly Event[], bucketTicks = 1): Point[] {
  const size = Math.max(1, Math.floor(bucketTicks));
  const counts = new Map<number, number>();
  for (const event of events) {
    const bucket = Math.floor(toNumber(event.tick) / size) * size;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([tick, value]) => ({ tick, value }));
}

/**
 * How many agents know each item over time: a discovery or a successful teaching adds a knower once.
 * With `untilTick`, each line is carried on to that tick (the count holds until it changes).
 */
export function knowledgeSpread(events: readonly Event[], untilTick: number | null = null): NamedSeries[] {
  const knowers = new Map<string, Set<string>>();
  const series = new Map<string, Point[]>();
  const ordered = [...events].sort((a, b) => toNumber(a.tick) - toNumber(b.tick) || a.sequence - b.sequence);
  for (const event of ordered) {
    if (event.details.case !== "knowledge" || !event.agentId) continue;
    const taught = event.type === EventType.KNOWLEDGE_TAUGHT;
    if (event.type !== EventType.KNOWLEDGE_DISCOVERED && !taught) continue;
    if (taught && !event.details.value.success) continue;
    const item = event.details.value.knowledge;
    const who = knowers.get(item) ?? new Set<string>();
    if (who.has(event.agentId)) continue;
    who.add(event.agentId);
    knowers.set(item, who);
    const points = series.get(item) ?? [];
    const tick = toNumber(event.tick);
    if (points.length > 0 && points[points.length - 1]!.tick === tick) points[points.length - 1]!.value = who.size;
    else points.push({ tick, value: who.size });
    series.set(item, points);
  }
  return [...series.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([name, points]) => {
      const last = points[points.length - 1]!;
      return { name, points: untilTick !== null && untilTick > last.tick ? [...points, { tick: untilTick, value: last.value }] : points };
    });
}

/** The points up to and including a tick (time travel), all of them for `null` (live). */
export function upToTick(points: readonly Point[], tick: number | null): Point[] {
  return tick === null ? [...points] : points.filter((point) => point.tick <= tick);
}

/** At most `maxPoints` points, evenly spaced, always keeping the last one (long runs stay cheap to draw). */
export function downsample(points: readonly Point[], maxPoints: number): Point[] {
  if (maxPoints < 2 || points.length <= maxPoints) return [...points];
  const stride = (points.length - 1) / (maxPoints - 1);
  const kept: Point[] = [];
  for (let index = 0; index < maxPoints; index += 1) kept.push(points[Math.round(index * stride)]!);
  return kept;
}
