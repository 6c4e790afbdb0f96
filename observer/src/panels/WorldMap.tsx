// Panel 1, world map: locations grouped by region, routes by quality, structures, agents as dots.
import { schemeTableau10 } from "d3-scale-chromatic";
import { useMemo, useState } from "react";
import { PathType } from "../gen/emergence/v1/common_pb.js";
import { enumLabel } from "../model/labels.js";
import { agentDots, layoutLocations } from "../model/map.js";
import type { DashboardContext } from "./context.js";
import { Panel } from "./Panel.js";

const WIDTH = 760;
const HEIGHT = 420;

const ROUTE_WIDTH: Record<number, number> = {
  [PathType.NONE]: 0.75,
  [PathType.DIRT_TRAIL]: 1.25,
  [PathType.WORN_PATH]: 2,
  [PathType.ROAD]: 3,
  [PathType.HIGHWAY]: 4,
};

export function WorldMap({ context }: { context: DashboardContext }) {
  const [showFog, setShowFog] = useState(true);
  const world = context.world;
  const locations = world?.locations ?? [];
  const routes = world?.routes ?? [];
  // The layout depends only on the places and routes, so it stays put while agents move.
  const layoutKey = locations.map((location) => location.id).join(",") + "|" + routes.map((route) => route.id).join(",");
  const positions = useMemo(
    () =>
      layoutLocations(
        locations.map((location) => ({ id: location.id, name: location.name, region: location.region, hidden: location.hidden })),
        routes.map((route) => ({ id: route.id, fromLocationId: route.fromLocationId, toLocationId: route.toLocationId, travelTicks: route.travelTicks })),
        WIDTH,
        HEIGHT,
      ),
    [layoutKey],
  );
  const regions = [...new Set(locations.map((location) => location.region))].sort();
  const regionColour = (region: string): string => schemeTableau10[Math.max(0, regions.indexOf(region)) % 10]!;
  const dots = agentDots(
    context.agents.map((agent) => ({
      id: agent.id,
      name: agent.name,
      alive: agent.alive,
      locationId: agent.locationId,
      routeId: agent.routeId,
      destinationId: agent.destinationId,
      travelTicksRemaining: agent.travelTicksRemaining,
    })),
    positions,
    routes.map((route) => ({ id: route.id, fromLocationId: route.fromLocationId, toLocationId: route.toLocationId, travelTicks: route.travelTicks })),
  );
  const structuresAt = new Map<string, number>();
  for (const structure of world?.structures ?? []) structuresAt.set(structure.locationId, (structuresAt.get(structure.locationId) ?? 0) + 1);
  const visible = (hidden: boolean): boolean => !hidden || showFog;
  const tools = (
    <label title="Places no agent has discovered yet, shown greyed for the operator">
      <input type="checkbox" checked={showFog} onChange={(event) => setShowFog(event.target.checked)} /> undiscovered places
    </label>
  );
  const empty = !context.worldLoading && !context.worldError && world !== null && locations.length === 0;
  return (
    <Panel id="map" title={`World map · tick ${context.world?.clock ? Number(context.world.clock.tick) : "–"}`} tools={tools} error={context.worldError} loading={context.worldLoading && world === null} className="wide">
      {empty ? <div className="empty">This world has no places.</div> : null}
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="map" role="img" aria-label="world map" data-shown-tick={context.world?.clock ? Number(context.world.clock.tick) : ""}>
        {routes.map((route) => {
          const from = positions.get(route.fromLocationId);
          const to = positions.get(route.toLocationId);
          if (!from || !to || !visible(route.hidden)) return null;
          return (
            <line key={route.id} x1={from.x} y1={from.y} x2={to.x} y2={to.y} className={route.hidden ? "route fog" : "route"} strokeWidth={ROUTE_WIDTH[route.pathType] ?? 1}>
              <title>{`${enumLabel(PathType, route.pathType)} · ${route.travelTicks} ticks · durability ${route.durability.toFixed(2)}`}</title>
            </line>
          );
        })}
        {locations.map((location) => {
          const at = positions.get(location.id);
          if (!at || !visible(location.hidden)) return null;
          const structures = structuresAt.get(location.id) ?? 0;
          return (
            <g key={location.id} transform={`translate(${at.x},${at.y})`} className={location.hidden ? "place fog" : "place"}>
              <circle r={7} fill={location.hidden ? "#d5d8dc" : regionColour(location.region)} />
              {structures > 0 ? <rect x={5} y={-11} width={7} height={7} className="structure"><title>{`${structures} structures`}</title></rect> : null}
              <text y={20} textAnchor="middle" className="place-name">
                {location.name}
              </text>
              <title>{`${location.name} (${location.region}) · ${location.kind}`}</title>
            </g>
          );
        })}
        {dots.map((dot) => (
          <circle
            key={dot.id}
            data-agent-id={dot.id}
            data-place={dot.place}
            cx={dot.x}
            cy={dot.y}
            r={dot.id === context.selectedAgentId ? 5.5 : 3.5}
            className={`agent ${dot.inTransit ? "transit" : ""} ${dot.id === context.selectedAgentId ? "selected" : ""}`}
            onClick={() => context.selectAgent(dot.id)}
          >
            <title>{dot.name}</title>
          </circle>
        ))}
      </svg>
      <div className="legend">
        {regions.map((region) => (
          <span key={region}>
            <i style={{ background: regionColour(region) }} />
            {region}
          </span>
        ))}
        <span>{dots.length} agents shown ({dots.filter((dot) => dot.inTransit).length} travelling)</span>
      </div>
    </Panel>
  );
}
