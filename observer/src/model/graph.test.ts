import { describe, expect, it } from "vitest";
import { edgeColour, edgeWidth, graphInputs, layoutGraph } from "./graph.js";

const nodes = ["c", "a", "b", "d"].map((id) => ({ agentId: id, name: id.toUpperCase(), alive: id !== "d", groupIds: id === "a" ? ["g1"] : [] }));

describe("graph inputs", () => {
  it("drops self loops, unknown agents and weak edges; keeps the strongest edge of a pair and kind", () => {
    const inputs = graphInputs(
      nodes,
      [
        { fromAgentId: "a", toAgentId: "b", trust: 0.4, kind: "trust" },
        { fromAgentId: "b", toAgentId: "a", trust: -0.9, kind: "trust" },
        { fromAgentId: "a", toAgentId: "b", trust: 1, kind: "bond" },
        { fromAgentId: "a", toAgentId: "a", trust: 1, kind: "trust" },
        { fromAgentId: "a", toAgentId: "stranger", trust: 1, kind: "trust" },
        { fromAgentId: "c", toAgentId: "a", trust: 0.05, kind: "trust" },
        { fromAgentId: "c", toAgentId: "b", trust: Number.NaN, kind: "trust" },
      ],
      0.1,
    );
    expect(inputs.nodes.map((node) => node.id)).toEqual(["a", "b", "c", "d"]);
    expect(inputs.links).toEqual([
      { source: "a", target: "b", trust: 1, kind: "bond" },
      { source: "a", target: "b", trust: -0.9, kind: "trust" },
    ]);
    expect(inputs.nodes.map((node) => node.degree)).toEqual([2, 2, 0, 0]);
    expect(inputs.nodes[0]!.group).toBe("g1");
  });

  it("is empty for an empty graph", () => {
    expect(graphInputs([], [])).toEqual({ nodes: [], links: [] });
  });
});

describe("graph layout", () => {
  it("places every node inside the area, the same way every time", () => {
    const inputs = graphInputs(nodes, [{ fromAgentId: "a", toAgentId: "b", trust: 0.8, kind: "trust" }]);
    const first = layoutGraph(inputs, 300, 200);
    const second = layoutGraph(inputs, 300, 200);
    expect(first.nodes.map((node) => [node.x, node.y])).toEqual(second.nodes.map((node) => [node.x, node.y]));
    for (const node of first.nodes) {
      expect(node.x).toBeGreaterThanOrEqual(0);
      expect(node.x).toBeLessThanOrEqual(300);
      expect(node.y).toBeGreaterThanOrEqual(0);
      expect(node.y).toBeLessThanOrEqual(200);
    }
    expect(first.links).toHaveLength(1);
    expect(first.links[0]!.source.id).toBe("a");
  });

  it("styles trust: wider with strength, red for distrust and conflict", () => {
    expect(edgeWidth(0)).toBe(0.5);
    expect(edgeWidth(-1)).toBe(4);
    expect(edgeWidth(Number.NaN)).toBe(0.5);
    expect(edgeColour(-1, "trust")).toBe(edgeColour(0.9, "conflict"));
    expect(edgeColour(1, "trust")).not.toBe(edgeColour(-1, "trust"));
  });
});
