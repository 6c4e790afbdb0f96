import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { AlertSeverity, ConstructCategory, EventSchema, EventType } from "../gen/emergence/v1/event_pb.js";
import { TickSummarySchema } from "../gen/emergence/v1/run_pb.js";
import { derivedAlerts } from "./alerts.js";

const summary = (tick: number, alive: number, gini = 0, wood = 5) =>
  create(TickSummarySchema, { tick: BigInt(tick), alive, gini, resources: [{ resource: Resource.WOOD, atNodes: BigInt(wood) }] });

describe("derived alerts", () => {
  it("says nothing for a quiet run", () => {
    expect(derivedAlerts([summary(1, 10), summary(2, 10)], [], 10)).toEqual([]);
    expect(derivedAlerts([], [], 0)).toEqual([]);
  });

  it("reports each first once, at its earliest tick", () => {
    const events = [
      create(EventSchema, { tick: 9n, type: EventType.THEFT_OCCURRED }),
      create(EventSchema, { tick: 4n, type: EventType.THEFT_OCCURRED }),
      create(EventSchema, { tick: 6n, type: EventType.SOCIAL_CONSTRUCT_FORMED, details: { case: "construct", value: { category: ConstructCategory.RELIGION } } }),
    ];
    expect(derivedAlerts([], events, 0).map((alert) => alert.message)).toEqual(["First crime at tick 4", "First religion at tick 6"]);
  });

  it("raises injected world events, low population, runaway inequality and a vanished resource", () => {
    const plague = create(EventSchema, { tick: 3n, type: EventType.WORLD_EVENT, details: { case: "worldEvent", value: { kind: "plague", region: "north" } } });
    const alerts = derivedAlerts([summary(1, 20), summary(2, 4, 0.9), summary(3, 3, 0.95, 0), summary(4, 3, 0.9, 0)], [plague], 20);
    expect(alerts.map((alert) => [alert.tick, alert.severity, alert.message])).toEqual([
      [2, AlertSeverity.WARNING, "Runaway inequality: Gini 0.90"],
      [2, AlertSeverity.CRITICAL, "Population fell to 4 (below 25 % of 20)"],
      [3, AlertSeverity.CRITICAL, "Economic collapse: no wood left anywhere"],
      [3, AlertSeverity.WARNING, "World event: plague in north"],
    ]);
  });
});
