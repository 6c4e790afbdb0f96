import { describe, expect, it } from "vitest";
import { agentDots, layoutLocations, regionCentres } from "./map.js";

const locations = [
  { id: "l1", name: "Spring", region: "north", hidden: false },
  { id: "l2", name: "Forest", region: "north", hidden: false },
  { id: "l3", name: "Shore", region: "south", hidden: true },
];
const routes = [{ id: "r1", fromLocationId: "l1", toLocationId: "l3", travelTicks: 4 }];
const agent = (id: string, locationId: string, extra: Partial<{ routeId: string; destinationId: string; travelTicksRemaining: number; alive: boolean }> = {}) => ({
  id,
  name: id,
  alive: extra.alive ?? true,
  locationId,
  routeId: extra.routeId ?? "",
  destinationId: extra.destinationId ?? "",
  travelTicksRemaining: extra.travelTicksRemaining ?? 0,
});

describe("map layout", () => {
  it("puts each region's centre in its own place inside the area", () => {
    const centres = regionCentres(["south", "north", "north"], 400, 300);
    expect([...centres.keys()]).toEqual(["north", "south"]);
    expect(centres.get("north")).not.toEqual(centres.get("south"));
    expect(regionCentres(["only"], 400, 300).get("only")).toEqual({ x: 200, y: 150 });
  });

  it("places every location inside the area, repeatably, ignoring routes to unknown places", () => {
    const brokenRoutes = [...routes, { id: "r2", fromLocationId: "l1", toLocationId: "nowhere", travelTicks: 1 }];
    const first = layoutLocations(locations, brokenRoutes, 400, 300);
    expect(first).toEqual(layoutLocations(locations, brokenRoutes, 400, 300));
    expect(first.size).toBe(3);
    for (const position of first.values()) {
      expect(position.x).toBeGreaterThan(0);
      expect(position.x).toBeLessThan(400);
      expect(position.y).toBeGreaterThan(0);
      expect(position.y).toBeLessThan(300);
    }
    expect(layoutLocations([], [], 400, 300).size).toBe(0);
  });
});

describe("agent dots", () => {
  const positions = new Map([
    ["l1", { x: 0, y: 0 }],
    ["l3", { x: 100, y: 0 }],
  ]);

  it("puts agents at a place on distinct spots and leaves out the dead and the lost", () => {
    const dots = agentDots([agent("b", "l1"), agent("a", "l1"), agent("dead", "l1", { alive: false }), agent("lost", "nowhere")], positions, routes);
    expect(dots.map((dot) => dot.id)).toEqual(["a", "b"]);
    expect(dots[0]).not.toEqual(expect.objectContaining({ x: dots[1]!.x, y: dots[1]!.y }));
    for (const dot of dots) expect(Math.hypot(dot.x, dot.y)).toBeCloseTo(10, 6);
  });

  it("moves a traveller along its route by the share of the journey done", () => {
    const [dot] = agentDots([agent("t", "l1", { routeId: "r1", destinationId: "l3", travelTicksRemaining: 1 })], positions, routes);
    expect(dot).toEqual({ id: "t", name: "t", inTransit: true, place: "l1>l3", x: 75, y: 0 });
  });
});
