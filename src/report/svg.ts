// A small line chart as standalone SVG: no dependency, opens in any browser, diffs as text.

export interface Series {
  name: string;
  values: ArrayLike<number>;
  /** x of each value; 0, 1, 2, ... when absent. */
  x?: ArrayLike<number>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Vertical dashed lines at x, labelled (e.g. where a curve reaches a level), in a series' colour. */
  markers?: { x: number; label: string; series: number }[];
  /** Horizontal dashed lines at y, labelled. */
  levels?: { y: number; label: string }[];
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const escape = (text: string) => text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
const tick = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(1) : String(+v.toPrecision(6)));

/** Round ticks over [min, max]: a step of 1, 2 or 5 times a power of ten, about `count` of them, the range widened to whole steps. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let k = 0; first + k * step <= last + step * 1e-9; k++) ticks.push(+(first + k * step).toPrecision(12));
  return ticks;
}

/** Series with at most this many points get a dot on each (a validation curve of a few evaluations). */
const SPARSE_POINTS = 30;

export function lineChartSvg(series: Series[], options: ChartOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  const margin = { left: 70, right: 170, top: 40, bottom: 50 };
  const xs = (s: Series, i: number) => (s.x ? s.x[i] : i);
  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) {
      const y = s.values[i];
      if (!Number.isFinite(y)) continue;
      xMin = Math.min(xMin, xs(s, i));
      xMax = Math.max(xMax, xs(s, i));
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
    }
  }
  if (!Number.isFinite(xMin)) [xMin, xMax, yMin, yMax] = [0, 1, 0, 1];
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) yMax = yMin + 1;
  const [xTicks, yTicks] = [niceTicks(xMin, xMax), niceTicks(yMin, yMax)];
  [xMin, xMax, yMin, yMax] = [xTicks[0], xTicks[xTicks.length - 1], yTicks[0], yTicks[yTicks.length - 1]];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (const xv of xTicks) parts.push(`<text x="${px(xv)}" y="${height - margin.bottom + 16}" text-anchor="middle">${tick(xv)}</text>`);
  for (const yv of yTicks) {
    parts.push(`<text x="${margin.left - 6}" y="${py(yv) + 4}" text-anchor="end">${tick(yv)}</text>`);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(yv)}" y2="${py(yv)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`);
  series.forEach((s, n) => {
    const color = PALETTE[n % PALETTE.length];
    const points: string[] = [];
    for (let i = 0; i < s.values.length; i++) {
      if (Number.isFinite(s.values[i])) points.push(`${px(xs(s, i)).toFixed(1)},${py(s.values[i]).toFixed(1)}`);
    }
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.4" points="${points.join(' ')}"/>`);
    if (points.length <= SPARSE_POINTS) for (const point of points) parts.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${color}"/>`);
    const ly = margin.top + 14 + n * 18;
    parts.push(`<line x1="${width - margin.right + 12}" x2="${width - margin.right + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${width - margin.right + 38}" y="${ly}">${escape(s.name)}</text>`);
  });
  for (const { x, label, series: n } of options.markers ?? []) {
    if (x < xMin || x > xMax) continue;
    const color = PALETTE[n % PALETTE.length];
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="${color}" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${px(x) + 3}" y="${margin.top + 12 + 14 * n}" fill="${color}">${escape(label)}</text>`);
  }
  for (const { y, label } of options.levels ?? []) {
    if (y < yMin || y > yMax) continue;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#555" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${margin.left + plotW - 4}" y="${py(y) - 4}" text-anchor="end" fill="#555">${escape(label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
