// Social graph view model: clean inputs for the layout, a deterministic D3 force layout, edge styling.
import { forceCenter, forceCollide, forceLink, forceManyBody, forceSimulation } from "d3-force";
import type { SimulationLinkDatum, SimulationNodeDatum } from "d3-force";
import { scaleLinear } from "d3-scale";

export interface GraphNodeInput {
  agentId: string;
  name: string;
  alive: boolean;
  groupIds: readonly string[];
}

export interface GraphEdgeInput {
  fromAgentId: string;
  toAgentId: string;
  trust: number;
  kind: string;
}

export interface LayoutNode extends SimulationNodeDatum {
  id: string;
  name: string;
  alive: boolean;
  group: string;
  degree: number;
}

export interface LayoutLink extends SimulationLinkDatum<LayoutNode> {
  source: string | LayoutNode;
  target: string | LayoutNode;
  trust: number;
  kind: string;
}

export interface GraphInputs {
  nodes: LayoutNode[];
  links: LayoutLink[];
}

/**
 * Nodes and links ready for the force layout: edges below `minAbsTrust`, self loops and edges to
 * agents not in the node list are dropped; a pair linked twice in the same kind keeps its strongest
 * edge (trust is asked in both directions, the graph is drawn undirected).
 */
export function graphInputs(
  nodes: readonly GraphNodeInput[],
  edges: readonly GraphEdgeInput[],
  minAbsTrust = 0,
): GraphInputs {
  const known = new Set(nodes.map((node) => node.agentId));
  const strongest = new Map<string, LayoutLink>();
  for (const edge of edges) {
    const { fromAgentId: from, toAgentId: to } = edge;
    if (from === to || !known.has(from) || !known.has(to)) continue;
    if (!Number.isFinite(edge.trust) || Math.abs(edge.trust) < minAbsTrust) continue;
    const [first, second] = from < to ? [from, to] : [to, from];
    const key = `${first}|${second}|${edge.kind}`;
    const existing = strongest.get(key);
    if (existing === undefined || Math.abs(edge.trust) > Math.abs(existing.trust)) {
      strongest.set(key, { source: first, target: second, trust: edge.trust, kind: edge.kind });
    }
  }
  const links = [...strongest.values()].sort((a, b) => linkKey(a).localeCompare(linkKey(b)));
  const degree = new Map<string, number>();
  for (const link of links) {
    for (const end of [endId(link.source), endId(link.target)]) degree.set(end, (degree.get(end) ?? 0) + 1);
  }
  const layoutNodes = [...nodes]
    .sort((a, b) => a.agentId.localeCompare(b.agentId))
    .map((node) => ({
      id: node.agentId,
      name: node.name,
      alive: node.alive,
      group: node.groupIds[0] ?? "",
      degree: degree.get(node.agentId) ?? 0,
    }));
  return { nodes: layoutNodes, links };
}

function endId(end: string | LayoutNode): string {
  return typeof end === "string" ? end : end.id;
}

function linkKey(link: LayoutLink): string {
  return `${endId(link.source)}|${endId(link.target)}|${link.kind}`;
}

export interface PositionedGraph {
  nodes: Array<LayoutNode & { x: number; y: number }>;
  links: Array<{ source: LayoutNode & { x: number; y: number }; target: LayoutNode & { x: number; y: number }; trust: number; kind: string }>;
}

/**
 * Runs the force simulation to rest synchronously (D3's simulation seeds its own random source, so the
 * same inputs give the same picture) and clamps every node inside the drawing area.
 */
export function layoutGraph(inputs: GraphInputs, width: number, height: number, iterations = 200): PositionedGraph {
  const nodes: LayoutNode[] = inputs.nodes.map((node) => ({ ...node }));
  const links: LayoutLink[] = inputs.links.map((link) => ({ ...link, source: endId(link.source), target: endId(link.target) }));
  const simulation = forceSimulation<LayoutNode>(nodes)
    .force("charge", forceManyBody<LayoutNode>().strength(-60))
    .force(
      "link",
      forceLink<LayoutNode, LayoutLink>(links)
        .id((node) => node.id)
        .distance((link) => 60 - 30 * Math.max(0, link.trust))
        .strength((link) => 0.2 + 0.6 * Math.abs(link.trust)),
    )
    .force("collide", forceCollide<LayoutNode>(8))
    .force("center", forceCenter(width / 2, height / 2))
    .stop();
  simulation.tick(iterations);
  const margin = 12;
  const placed = nodes.map((node) => ({
    ...node,
    x: clamp(node.x ?? width / 2, margin, width - margin),
    y: clamp(node.y ?? height / 2, margin, height - margin),
  }));
  const byId = new Map(placed.map((node) => [node.id, node]));
  const placedLinks = links.flatMap((link) => {
    const source = byId.get(endId(link.source));
    const target = byId.get(endId(link.target));
    return source && target ? [{ source, target, trust: link.trust, kind: link.kind }] : [];
  });
  return { nodes: placed, links: placedLinks };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

const DISTRUST_COLOUR = "rgb(192, 57, 43)";
const trustColour = scaleLinear<string>().domain([-1, 0, 1]).range([DISTRUST_COLOUR, "rgb(176, 176, 176)", "rgb(30, 132, 73)"]).clamp(true);

/** Trust as edge colour: red for distrust, grey for indifference, green for trust; conflicts always red. */
export function edgeColour(trust: number, kind: string): string {
  if (kind === "conflict") return DISTRUST_COLOUR;
  if (kind === "parent") return "rgb(125, 60, 152)";
  return trustColour(trust);
}

/** Trust as edge width: 0.5 px for indifference up to 4 px for full trust or distrust. */
export function edgeWidth(trust: number): number {
  return 0.5 + 3.5 * Math.min(1, Math.abs(Number.isFinite(trust) ? trust : 0));
}
