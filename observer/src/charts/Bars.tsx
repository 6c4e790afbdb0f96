// Horizontal bars (causes of death, age pyramid halves): D3 scales, React rectangles.
import { max } from "d3-array";
import { scaleBand, scaleLinear } from "d3-scale";

export interface Bar {
  label: string;
  value: number;
  colour?: string;
}

export function Bars({ bars, width, label }: { bars: readonly Bar[]; width: number; label: string }) {
  if (bars.length === 0) return <div className="empty">None yet</div>;
  const rowHeight = 16;
  const height = bars.length * rowHeight + 4;
  const labelWidth = 90;
  const x = scaleLinear()
    .domain([0, Math.max(1, max(bars, (bar) => bar.value) ?? 1)])
    .range([0, width - labelWidth - 30]);
  const y = scaleBand()
    .domain(bars.map((bar) => bar.label))
    .range([2, height - 2])
    .padding(0.15);
  return (
    <svg width={width} height={height} role="img" aria-label={label} className="chart">
      {bars.map((bar) => (
        <g key={bar.label} transform={`translate(0,${y(bar.label) ?? 0})`}>
          <text x={labelWidth - 4} y={y.bandwidth() - 3} textAnchor="end" className="axis">
            {bar.label}
          </text>
          <rect x={labelWidth} width={x(bar.value)} height={y.bandwidth()} fill={bar.colour ?? "#5d6d7e"} />
          <text x={labelWidth + x(bar.value) + 4} y={y.bandwidth() - 3} className="axis">
            {bar.value}
          </text>
        </g>
      ))}
    </svg>
  );
}
