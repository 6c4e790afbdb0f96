// World map view model: where each location is drawn (grouped by region) and where each agent dot goes.
import { forceCollide, forceLink, forceSimulation, forceX, forceY } from "d3-force";
import type { SimulationLinkDatum, SimulationNodeDatum } from "d3-force";

export interface LocationInput {
  id: string;
  name: string;
  region: string;
  hidden: boolean;
}

export interface RouteInput {
  id: string;
  fromLocationId: string;
  toLocationId: string;
  travelTicks: number;
}

export interface AgentInput {
  id: string;
  name: string;
  alive: boolean;
  locationId: string;
  routeId: string;
  destinationId: string;
  travelTicksRemaining: number;
}

export interface Position {
  x: number;
  y: number;
}

interface PlaceNode extends SimulationNodeDatum {
  id: string;
}

/** Region centres on an ellipse, in region-name order, so a region keeps its place as the world grows. */
export function regionCentres(regions: readonly string[], width: number, height: number): Map<string, Position> {
  const unique = [...new Set(regions)].sort();
  const centres = new Map<string, Position>();
  if (unique.length === 1) centres.set(unique[0]!, { x: width / 2, y: height / 2 });
  else {
    unique.forEach((region, index) => {
      const angle = (2 * Math.PI * index) / unique.length - Math.PI / 2;
      centres.set(region, { x: width / 2 + width * 0.32 * Math.cos(angle), y: height / 2 + height * 0.3 * Math.sin(angle) });
    });
  }
  return centres;
}

/** Location positions: pulled to their region's centre, held apart, routes as springs; deterministic. */
export function layoutLocations(
  locations: readonly LocationInput[],
  routes: readonly RouteInput[],
  width: number,
  height: number,
): Map<string, Position> {
  const ordered = [...locations].sort((a, b) => a.id.localeCompare(b.id));
  const centres = regionCentres(ordered.map((location) => location.region), width, height);
  const regionOf = new Map(ordered.map((location) => [location.id, location.region]));
  const nodes: PlaceNode[] = ordered.map((location, index) => {
    const centre = centres.get(location.region) ?? { x: width / 2, y: height / 2 };
    const angle = index * 2.399963; // golden angle: a spread-out, repeatable start
    return { id: location.id, x: centre.x + 20 * Math.cos(angle), y: centre.y + 20 * Math.sin(angle) };
  });
  const known = new Set(nodes.map((node) => node.id));
  const links: SimulationLinkDatum<PlaceNode>[] = routes
    .filter((route) => known.has(route.fromLocationId) && known.has(route.toLocationId) && route.fromLocationId !== route.toLocationId)
    .map((route) => ({ source: route.fromLocationId, target: route.toLocationId }));
  const centreOf = (node: PlaceNode): Position => centres.get(regionOf.get(node.id) ?? "") ?? { x: width / 2, y: height / 2 };
  forceSimulation<PlaceNode>(nodes)
    .force("link", forceLink<PlaceNode, SimulationLinkDatum<PlaceNode>>(links).id((node) => node.id).distance(80).strength(0.04))
    .force("x", forceX<PlaceNode>((node) => centreOf(node).x).strength(0.12))
    .force("y", forceY<PlaceNode>((node) => centreOf(node).y).strength(0.12))
    .force("collide", forceCollide<PlaceNode>(48))
    .stop()
    .tick(300);
  const margin = 24;
  return new Map(
    nodes.map((node) => [
      node.id,
      {
        x: Math.min(width - margin, Math.max(margin, node.x ?? width / 2)),
        y: Math.min(height - margin, Math.max(margin, node.y ?? height / 2)),
      },
    ]),
  );
}

export interface AgentDot extends Position {
  id: string;
  name: string;
  inTransit: boolean;
  /** the location id, or "from>to" while travelling */
  place: string;
}

/**
 * One dot per living agent: at its location on a small ring shared with the others there (id order), or
 * part-way along its route when travelling (how far from the ticks it still has to go).
 */
export function agentDots(
  agents: readonly AgentInput[],
  positions: ReadonlyMap<string, Position>,
  routes: readonly RouteInput[],
): AgentDot[] {
  const routeById = new Map(routes.map((route) => [route.id, route]));
  const living = agents.filter((agent) => agent.alive).sort((a, b) => a.id.localeCompare(b.id));
  const atPlace = new Map<string, number>();
  const dots: AgentDot[] = [];
  for (const agent of living) {
    const from = positions.get(agent.locationId);
    if (from === undefined) continue;
    const to = positions.get(agent.destinationId);
    const route = routeById.get(agent.routeId);
    if (to !== undefined && route !== undefined && agent.travelTicksRemaining > 0) {
      const total = Math.max(route.travelTicks, agent.travelTicksRemaining, 1);
      const progress = 1 - agent.travelTicksRemaining / total;
      dots.push({ id: agent.id, name: agent.name, inTransit: true, place: `${agent.locationId}>${agent.destinationId}`, x: from.x + (to.x - from.x) * progress, y: from.y + (to.y - from.y) * progress });
      continue;
    }
    const slot = atPlace.get(agent.locationId) ?? 0;
    atPlace.set(agent.locationId, slot + 1);
    const ring = 10 + 5 * Math.floor(slot / 8);
    const angle = (slot % 8) * (Math.PI / 4) + Math.floor(slot / 8) * 0.4;
    dots.push({ id: agent.id, name: agent.name, inTransit: false, place: agent.locationId, x: from.x + ring * Math.cos(angle), y: from.y + ring * Math.sin(angle) });
  }
  return dots;
}
