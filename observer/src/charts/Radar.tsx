// A personality radar: one axis per trait (0..1), the agent's values as a closed polygon.
import { scaleLinear } from "d3-scale";
import { lineRadial, curveLinearClosed } from "d3-shape";

export interface RadarAxis {
  name: string;
  value: number;
}

export function Radar({ axes, size }: { axes: readonly RadarAxis[]; size: number }) {
  const radius = size / 2 - 16;
  const width = size + 80; // room for the trait names left and right
  const r = scaleLinear().domain([0, 1]).range([0, radius]).clamp(true);
  const angle = (index: number): number => (2 * Math.PI * index) / Math.max(1, axes.length);
  const shape = lineRadial<RadarAxis>()
    .angle((_, index) => angle(index))
    .radius((axis) => r(axis.value))
    .curve(curveLinearClosed);
  return (
    <svg width={width} height={size} role="img" aria-label="personality" className="chart">
      <g transform={`translate(${width / 2},${size / 2})`}>
        {[0.5, 1].map((level) => (
          <circle key={level} r={r(level)} className="grid" fill="none" />
        ))}
        {axes.map((axis, index) => {
          const x = Math.sin(angle(index)) * (radius + 6);
          const y = -Math.cos(angle(index)) * (radius + 6);
          const anchor = Math.abs(x) < 1 ? "middle" : x > 0 ? "start" : "end";
          return (
            <text key={axis.name} x={x} y={y + (y < -1 ? -2 : y > 1 ? 8 : 3)} textAnchor={anchor} className="axis">
              {axis.name}
            </text>
          );
        })}
        <path d={shape([...axes]) ?? ""} fill="rgba(46,134,193,0.3)" stroke="#2e86c1" />
      </g>
    </svg>
  );
}
