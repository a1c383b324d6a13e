// Charts drawn as plain SVG: a histogram, bars, a heatmap, line and scatter plots. A chart
// library would add more to the bundle than these few shapes take to draw, and each chart here
// carries its own text alternative (a title and an accessible table or label).
import { formatNumber } from './ui';

const W = 320;
const H = 160;
const PAD = 28;

export function Histogram({ counts, edges, label }: { counts: number[]; edges: number[]; label: string }) {
  const max = Math.max(1, ...counts);
  const bw = (W - PAD) / Math.max(1, counts.length);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={`Histogram of ${label}`}>
      <title>{`Histogram of ${label}`}</title>
      {counts.map((c, i) => {
        const h = ((H - PAD) * c) / max;
        return (
          <rect key={i} data-testid="bar" x={PAD + i * bw + 1} y={H - PAD - h} width={Math.max(1, bw - 2)} height={h} fill="#3b7dd8">
            <title>{`${formatNumber(edges[i])} – ${formatNumber(edges[i + 1])}: ${c}`}</title>
          </rect>
        );
      })}
      <line x1={PAD} y1={H - PAD} x2={W} y2={H - PAD} stroke="#888" />
      <text x={PAD} y={H - 10} fontSize="10">
        {formatNumber(edges[0])}
      </text>
      <text x={W} y={H - 10} fontSize="10" textAnchor="end">
        {formatNumber(edges[edges.length - 1])}
      </text>
      <text x={PAD - 4} y={12} fontSize="10" textAnchor="end">
        {max}
      </text>
    </svg>
  );
}

// Horizontal bars with labels: top values, feature importance.
export function BarList({ items, label }: { items: { name: string; value: number }[]; label: string }) {
  const max = Math.max(1e-12, ...items.map((i) => i.value));
  return (
    <div className="barlist" role="table" aria-label={label}>
      {items.map((it) => (
        <div className="barlist-row" role="row" key={it.name}>
          <span className="barlist-name" role="cell" title={it.name}>
            {it.name}
          </span>
          <span className="barlist-bar" role="cell">
            <span className="barlist-fill" style={{ width: `${(100 * it.value) / max}%` }} />
          </span>
          <span className="barlist-value" role="cell">
            {formatNumber(it.value, 3)}
          </span>
        </div>
      ))}
    </div>
  );
}

// -1 is red, 0 white, +1 blue.
export function correlationColour(v: number | null): string {
  if (v === null || Number.isNaN(v)) return '#eeeeee';
  const t = Math.max(-1, Math.min(1, v));
  const c = (x: number) => Math.round(255 - (255 - x) * Math.abs(t));
  return t >= 0 ? `rgb(${c(33)},${c(102)},${c(172)})` : `rgb(${c(178)},${c(24)},${c(43)})`;
}

export function Heatmap({ columns, matrix }: { columns: string[]; matrix: (number | null)[][] }) {
  const n = columns.length;
  const cell = Math.max(14, Math.min(40, Math.floor(360 / Math.max(1, n))));
  const left = 120;
  const size = left + n * cell;
  const width = size + 70; // room for the last column's slanted label
  return (
    <svg viewBox={`0 0 ${width} ${size}`} width={width} className="heatmap" role="img" aria-label="Correlation heatmap">
      <title>Correlation heatmap (Pearson)</title>
      {columns.map((c, i) => (
        <text key={`r${i}`} x={left - 4} y={left + i * cell + cell / 2 + 3} fontSize="10" textAnchor="end">
          {c.length > 18 ? `${c.slice(0, 17)}…` : c}
        </text>
      ))}
      {columns.map((c, j) => (
        <text
          key={`c${j}`}
          fontSize="10"
          transform={`translate(${left + j * cell + cell / 2 + 3},${left - 4}) rotate(-60)`}
        >
          {c.length > 18 ? `${c.slice(0, 17)}…` : c}
        </text>
      ))}
      {matrix.map((row, i) =>
        row.map((v, j) => (
          <rect key={`${i}-${j}`} data-testid="cell" x={left + j * cell} y={left + i * cell} width={cell - 1} height={cell - 1} fill={correlationColour(v)}>
            <title>{`${columns[i]} × ${columns[j]}: ${v === null ? 'n/a' : v.toFixed(3)}`}</title>
          </rect>
        )),
      )}
      {cell >= 30 &&
        matrix.map((row, i) =>
          row.map((v, j) => (
            <text key={`t${i}-${j}`} x={left + j * cell + cell / 2} y={left + i * cell + cell / 2 + 3} fontSize="9" textAnchor="middle" fill={v !== null && Math.abs(v) > 0.6 ? '#fff' : '#222'}>
              {v === null ? '' : v.toFixed(2)}
            </text>
          )),
      )}
    </svg>
  );
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

// Lines on the unit square (ROC and PR curves), with a legend.
export function LineChart({ series, xLabel, yLabel, title, diagonal }: { series: Series[]; xLabel: string; yLabel: string; title: string; diagonal?: boolean }) {
  const sx = (x: number) => PAD + x * (W - PAD - 8);
  const sy = (y: number) => H - PAD - y * (H - PAD - 8);
  return (
    <figure className="figure">
      <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={title}>
        <title>{title}</title>
        <rect x={PAD} y={8} width={W - PAD - 8} height={H - PAD - 8} fill="none" stroke="#bbb" />
        {diagonal && <line x1={sx(0)} y1={sy(0)} x2={sx(1)} y2={sy(1)} stroke="#bbb" strokeDasharray="4 3" />}
        {series.map((s, k) => (
          <polyline
            key={s.name}
            data-testid="series"
            fill="none"
            stroke={PALETTE[k % PALETTE.length]}
            strokeWidth="2"
            points={s.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.y[i]).toFixed(1)}`).join(' ')}
          />
        ))}
        <AxisLabels x={xLabel} y={yLabel} />
      </svg>
      <figcaption className="legend">
        {series.map((s, k) => (
          <span key={s.name}>
            <span className="swatch" style={{ background: PALETTE[k % PALETTE.length] }} />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

// Points (residual against predicted), with a zero line.
export function Scatter({ x, y, xLabel, yLabel, title }: { x: number[]; y: number[]; xLabel: string; yLabel: string; title: string }) {
  const [x0, x1] = extent(x);
  const [y0, y1] = extent([...y, 0]);
  const sx = (v: number) => PAD + ((v - x0) / (x1 - x0 || 1)) * (W - PAD - 8);
  const sy = (v: number) => H - PAD - ((v - y0) / (y1 - y0 || 1)) * (H - PAD - 8);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} className="chart" role="img" aria-label={title}>
      <title>{title}</title>
      <line x1={PAD} y1={sy(0)} x2={W - 8} y2={sy(0)} stroke="#999" strokeDasharray="4 3" />
      {x.map((v, i) => (
        <circle key={i} data-testid="point" cx={sx(v)} cy={sy(y[i])} r="2" fill="#3b7dd8" fillOpacity="0.6" />
      ))}
      <AxisLabels x={xLabel} y={yLabel} />
    </svg>
  );
}

function AxisLabels({ x, y }: { x: string; y: string }) {
  return (
    <>
      <text x={(W + PAD) / 2} y={H - 6} fontSize="10" textAnchor="middle">
        {x}
      </text>
      <text fontSize="10" textAnchor="middle" transform={`translate(10,${(H - PAD) / 2}) rotate(-90)`}>
        {y}
      </text>
    </>
  );
}

function extent(v: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

export function ConfusionMatrix({ labels, matrix }: { labels: string[]; matrix: number[][] }) {
  const max = Math.max(1, ...matrix.flat());
  return (
    <table className="confusion">
      <caption>Confusion matrix (rows: actual, columns: predicted)</caption>
      <thead>
        <tr>
          <th scope="col">actual \ predicted</th>
          {labels.map((l) => (
            <th scope="col" key={l}>
              {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {matrix.map((row, i) => (
          <tr key={labels[i]}>
            <th scope="row">{labels[i]}</th>
            {row.map((v, j) => (
              <td key={j} style={{ background: `rgba(59,125,216,${(0.85 * v) / max})`, color: v / max > 0.55 ? '#fff' : undefined }}>
                {v}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
