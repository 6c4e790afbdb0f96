import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentSchema } from "../gen/emergence/v1/agent_pb.js";
import { Resource } from "../gen/emergence/v1/common_pb.js";
import { gini, lorenz, wealthOf } from "./economy.js";

describe("gini", () => {
  it("is 0 for nobody, for nothing held and for perfect equality", () => {
    expect(gini([])).toBe(0);
    expect(gini([0, 0, 0])).toBe(0);
    expect(gini([5, 5, 5, 5])).toBeCloseTo(0, 12);
  });

  it("is (n-1)/n when one agent holds everything", () => {
    expect(gini([0, 0, 0, 12])).toBeCloseTo(0.75, 12);
    expect(gini([100])).toBe(0);
  });

  it("matches the textbook value and ignores order", () => {
    // mean absolute difference / (2 * mean) for 1, 2, 3, 4 is 0.25
    expect(gini([4, 1, 3, 2])).toBeCloseTo(0.25, 12);
  });

  it("treats negative, NaN and infinite holdings as nothing", () => {
    expect(gini([-5, Number.NaN, Number.POSITIVE_INFINITY, 10])).toBeCloseTo(0.75, 12);
  });
});

describe("lorenz", () => {
  it("runs from (0,0) to (1,1) poorest first and never above the diagonal", () => {
    const points = lorenz([10, 0, 30]);
    expect(points[0]).toEqual({ population: 0, wealth: 0 });
    expect(points[points.length - 1]).toEqual({ population: 1, wealth: 1 });
    expect(points.map((point) => point.wealth)).toEqual([0, 0, 0.25, 1]);
    for (const point of points) expect(point.wealth).toBeLessThanOrEqual(point.population + 1e-12);
  });

  it("is the diagonal when there is no one or nothing", () => {
    expect(lorenz([])).toEqual([
      { population: 0, wealth: 0 },
      { population: 1, wealth: 1 },
    ]);
    expect(lorenz([0, 0]).map((point) => point.wealth)).toEqual([0, 0.5, 1]);
  });
});

describe("wealthOf", () => {
  it("adds every unit an agent carries and ignores negative quantities", () => {
    const agent = create(AgentSchema, {
      inventory: [
        { resource: Resource.BERRY, quantity: 3n },
        { resource: Resource.WOOD, quantity: 4n },
        { resource: Resource.STONE, quantity: -2n },
      ],
    });
    expect(wealthOf(agent)).toBe(7);
    expect(wealthOf(create(AgentSchema))).toBe(0);
  });
});
