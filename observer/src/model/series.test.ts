import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { EventSchema, EventType } from "../gen/emergence/v1/event_pb.js";
import { TickSummarySchema } from "../gen/emergence/v1/run_pb.js";
import { countByTick, cumulative, downsample, knowledgeSpread, resourceSeries, summarySeries, upToTick } from "./series.js";

const summary = (tick: number, alive: number, extra: Partial<{ births: number; wood: number; berry: number }> = {}) =>
  create(TickSummarySchema, {
    tick: BigInt(tick),
    alive,
    births: extra.births ?? 0,
    resources: [
      { resource: Resource.WOOD, heldByAgents: BigInt(extra.wood ?? 0), atNodes: 1n },
      { resource: Resource.BERRY, heldByAgents: BigInt(extra.berry ?? 0) },
    ],
  });

const knowledge = (tick: number, sequence: number, agentId: string, item: string, type: EventType, success = true) =>
  create(EventSchema, {
    tick: BigInt(tick),
    sequence,
    type,
    agentId,
    details: { case: "knowledge", value: { knowledge: item, success } },
  });

describe("summary series", () => {
  it("orders by tick and keeps the last summary of a tick delivered twice", () => {
    const points = summarySeries([summary(2, 9), summary(1, 10), summary(2, 8)], "alive");
    expect(points).toEqual([
      { tick: 1, value: 10 },
      { tick: 2, value: 8 },
    ]);
  });

  it("adds per-tick counts into running totals", () => {
    const births = summarySeries([summary(1, 5, { births: 2 }), summary(2, 5), summary(3, 6, { births: 1 })], "births");
    expect(cumulative(births).map((point) => point.value)).toEqual([2, 2, 3]);
  });

  it("sums every holder of a resource and ranks resources by their latest total", () => {
    const series = resourceSeries([summary(1, 1, { wood: 1, berry: 9 }), summary(2, 1, { wood: 2, berry: 0 })]);
    expect(series.map((entry) => entry.name)).toEqual(["Wood", "Berry"]);
    expect(series[0]!.points).toEqual([
      { tick: 1, value: 2 },
      { tick: 2, value: 3 },
    ]);
    expect(resourceSeries([summary(1, 1)], 1)).toHaveLength(1);
    expect(resourceSeries([], 3)).toEqual([]);
  });
});

describe("event series", () => {
  it("counts events per bucket of ticks", () => {
    const events = [1, 2, 2, 7, 11].map((tick, sequence) => create(EventSchema, { tick: BigInt(tick), sequence }));
    expect(countByTick(events)).toEqual([
      { tick: 1, value: 1 },
      { tick: 2, value: 2 },
      { tick: 7, value: 1 },
      { tick: 11, value: 1 },
    ]);
    expect(countByTick(events, 5)).toEqual([
      { tick: 0, value: 3 },
      { tick: 5, value: 1 },
      { tick: 10, value: 1 },
    ]);
    expect(countByTick(events, 0)).toHaveLength(4);
  });

  it("follows how many know each item: discoveries and successful teaching, each knower once", () => {
    const spread = knowledgeSpread([
      knowledge(5, 0, "b", "fire", EventType.KNOWLEDGE_TAUGHT),
      knowledge(3, 0, "a", "fire", EventType.KNOWLEDGE_DISCOVERED),
      knowledge(5, 1, "c", "fire", EventType.KNOWLEDGE_TAUGHT),
      knowledge(6, 0, "d", "fire", EventType.KNOWLEDGE_TAUGHT, false),
      knowledge(7, 0, "a", "fire", EventType.KNOWLEDGE_DISCOVERED),
      knowledge(8, 0, "a", "agriculture", EventType.KNOWLEDGE_DISCOVERED),
    ]);
    expect(spread.map((entry) => entry.name)).toEqual(["agriculture", "fire"]);
    expect(spread[1]!.points).toEqual([
      { tick: 3, value: 1 },
      { tick: 5, value: 3 },
    ]);
    const carried = knowledgeSpread([knowledge(3, 0, "a", "fire", EventType.KNOWLEDGE_DISCOVERED)], 10);
    expect(carried[0]!.points).toEqual([
      { tick: 3, value: 1 },
      { tick: 10, value: 1 },
    ]);
    expect(knowledgeSpread([knowledge(3, 0, "a", "fire", EventType.KNOWLEDGE_DISCOVERED)], 2)[0]!.points).toHaveLength(1);
  });
});

describe("time travel and long runs", () => {
  const points = Array.from({ length: 101 }, (_, tick) => ({ tick, value: tick * 2 }));

  it("cuts a series at the chosen tick and keeps all of it live", () => {
    expect(upToTick(points, 10)).toHaveLength(11);
    expect(upToTick(points, null)).toHaveLength(101);
  });

  it("thins a series to at most the given points and keeps both ends", () => {
    const thin = downsample(points, 11);
    expect(thin).toHaveLength(11);
    expect(thin[0]!.tick).toBe(0);
    expect(thin[10]!.tick).toBe(100);
    expect(downsample(points.slice(0, 5), 11)).toHaveLength(5);
  });
});
