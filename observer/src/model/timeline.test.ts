import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DeathCause, Resource } from "../gen/emergence/v1/common_pb.js";
import { EventSchema, EventType } from "../gen/emergence/v1/event_pb.js";
import { describeEvent, filterEvents, mergeNewestFirst, NO_FILTER } from "./timeline.js";
import { enumLabel, shortId } from "./labels.js";

const event = (tick: number, sequence: number, type: EventType, agentId = "", locationId = "") =>
  create(EventSchema, { tick: BigInt(tick), sequence, type, agentId, locationId });

describe("timeline filter", () => {
  const regions = new Map([
    ["spring", "north"],
    ["shore", "south"],
  ]);
  const events = [
    event(1, 0, EventType.TRADE_COMPLETED, "a", "spring"),
    event(2, 0, EventType.AGENT_DIED, "b", "shore"),
    event(3, 0, EventType.TRADE_COMPLETED, "b", "shore"),
    event(4, 0, EventType.WORLD_EVENT),
  ];

  it("passes everything without a filter", () => {
    expect(filterEvents(events, NO_FILTER, regions)).toHaveLength(4);
  });

  it("combines type, region, agent and tick range", () => {
    const trades = filterEvents(events, { ...NO_FILTER, types: new Set([EventType.TRADE_COMPLETED]) }, regions);
    expect(trades.map((entry) => Number(entry.tick))).toEqual([1, 3]);
    const south = filterEvents(events, { ...NO_FILTER, region: "south" }, regions);
    expect(south.map((entry) => Number(entry.tick))).toEqual([2, 3]);
    const narrow = filterEvents(events, { types: new Set([EventType.TRADE_COMPLETED]), agentId: "b", region: "south", fromTick: 3, toTick: 3 }, regions);
    expect(narrow).toHaveLength(1);
    expect(filterEvents(events, { ...NO_FILTER, fromTick: 5 }, regions)).toEqual([]);
  });

  it("keeps the live tail newest first, without repeats, bounded", () => {
    const merged = mergeNewestFirst(events.slice(0, 2), events.slice(1), 3);
    expect(merged.map((entry) => Number(entry.tick))).toEqual([4, 3, 2]);
    expect(mergeNewestFirst([], events, 0)).toEqual([]);
  });
});

describe("event text", () => {
  const names = new Map([
    ["a", "Ayla"],
    ["b", "Bo"],
  ]);

  it("says who did what in words", () => {
    const discovery = create(EventSchema, {
      tick: 892n,
      type: EventType.KNOWLEDGE_DISCOVERED,
      agentId: "a",
      details: { case: "knowledge", value: { knowledge: "agriculture", firstInRun: true } },
    });
    expect(describeEvent(discovery, names)).toBe("Ayla discovered agriculture (first in the world)");
    const theft = create(EventSchema, {
      type: EventType.THEFT_OCCURRED,
      agentId: "b",
      details: { case: "theft", value: { victimId: "a", resource: Resource.BERRY, quantity: 3n } },
    });
    expect(describeEvent(theft, names)).toBe("Bo stole 3 berry from Ayla");
    const death = create(EventSchema, {
      type: EventType.AGENT_DIED,
      agentId: "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
      details: { case: "agentDied", value: { cause: DeathCause.STARVATION, finalAge: 40n } },
    });
    expect(describeEvent(death, names)).toBe("0190…0000 died of starvation at age 40");
  });

  it("falls back to the type's name for events without details", () => {
    expect(describeEvent(event(1, 0, EventType.TICK_END), names)).toBe("Tick end");
    expect(enumLabel(EventType, 9999)).toBe("unknown (9999)");
    expect(shortId("short")).toBe("short");
  });
});
