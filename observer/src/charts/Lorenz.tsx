// The Lorenz curve now: population share (poorest first) against wealth share, with the equality diagonal.
import { scaleLinear } from "d3-scale";
import { line } from "d3-shape";
import type { LorenzPoint } from "../model/economy.js";

export function LorenzChart({ points, size }: { points: readonly LorenzPoint[]; size: number }) {
  const margin = 20;
  const x = scaleLinear().domain([0, 1]).range([margin, size - 6]);
  const y = scaleLinear().domain([0, 1]).range([size - margin, 6]);
  const curve = line<LorenzPoint>()
    .x((point) => x(point.population))
    .y((point) => y(point.wealth));
  return (
    <svg width={size} height={size} role="img" aria-label="Lorenz curve" className="chart">
      <rect x={x(0)} y={y(1)} width={x(1) - x(0)} height={y(0) - y(1)} className="frame" />
      <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} className="grid" />
      <path d={curve([...points]) ?? ""} fill="none" stroke="#2e86c1" strokeWidth={2} />
      <text x={size / 2} y={size - 4} textAnchor="middle" className="axis">
        population →
      </text>
      <text x={8} y={size / 2} textAnchor="middle" className="axis" transform={`rotate(-90 8 ${size / 2})`}>
        wealth →
      </text>
    </svg>
  );
}
