// A small multi-series line chart: D3 computes scales and paths, React draws the SVG.
import { extent, max } from "d3-array";
import { scaleLinear } from "d3-scale";
import { schemeTableau10 } from "d3-scale-chromatic";
import { line } from "d3-shape";
import type { NamedSeries, Point } from "../model/series.js";
import { downsample } from "../model/series.js";

export interface LineChartProps {
  series: readonly NamedSeries[];
  width: number;
  height: number;
  /** a vertical rule at this tick (the moment time travel shows) */
  markerTick?: number | null;
  /** fix the y range, e.g. [0, 1] for Gini */
  yDomain?: [number, number];
  label: string;
}

const MARGIN = { top: 8, right: 8, bottom: 18, left: 36 };
const MAX_POINTS = 400;

export function LineChart({ series, width, height, markerTick = null, yDomain, label }: LineChartProps) {
  const thinned = series.map((entry) => ({ name: entry.name, points: downsample(entry.points, MAX_POINTS) }));
  const all: Point[] = thinned.flatMap((entry) => entry.points);
  if (all.length === 0) {
    return (
      <div className="empty" style={{ height }} role="img" aria-label={`${label}: no data yet`}>
        No data yet
      </div>
    );
  }
  const [firstTick, lastTick] = extent(all, (point) => point.tick) as [number, number];
  const x = scaleLinear()
    .domain([firstTick, Math.max(lastTick, firstTick + 1)])
    .range([MARGIN.left, width - MARGIN.right]);
  const y = scaleLinear()
    .domain(yDomain ?? [0, Math.max(1, max(all, (point) => point.value) ?? 1)])
    .nice()
    .range([height - MARGIN.bottom, MARGIN.top]);
  const path = line<Point>()
    .x((point) => x(point.tick))
    .y((point) => y(point.value));
  return (
    <svg width={width} height={height} role="img" aria-label={label} className="chart">
      {y.ticks(3).map((value) => (
        <g key={value}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(value)} y2={y(value)} className="grid" />
          <text x={MARGIN.left - 4} y={y(value) + 3} textAnchor="end" className="axis">
            {value}
          </text>
        </g>
      ))}
      {x.ticks(4).map((tick) => (
        <text key={tick} x={x(tick)} y={height - 4} textAnchor="middle" className="axis">
          {tick}
        </text>
      ))}
      {thinned.map((entry, index) => (
        <path key={entry.name} d={path(entry.points) ?? ""} fill="none" stroke={schemeTableau10[index % 10]} strokeWidth={1.5}>
          <title>{entry.name}</title>
        </path>
      ))}
      {markerTick !== null && markerTick >= firstTick && markerTick <= lastTick ? (
        <line x1={x(markerTick)} x2={x(markerTick)} y1={MARGIN.top} y2={height - MARGIN.bottom} className="marker" />
      ) : null}
    </svg>
  );
}

export function Legend({ names }: { names: readonly string[] }) {
  return (
    <div className="legend">
      {names.map((name, index) => (
        <span key={name}>
          <i style={{ background: schemeTableau10[index % 10] }} />
          {name}
        </span>
      ))}
    </div>
  );
}
