import type { Chart, ColumnKind } from "../model.ts";
import { type DisplayOptions, displayCell } from "./values.ts";

/**
 * Charts as inline SVG: no script, no font or network fetch, so the HTML file opens anywhere,
 * mail clients' previews included. Every chart has a title, axis titles, tick values on round
 * numbers (1, 2, 2.5 or 5 × 10ⁿ) and a legend; heatmaps a colour scale with its values.
 */

export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
] as const;

const WIDTH = 1100;
const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"';

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function short(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An axis title with the unit: money in the currency when there is one. */
export function axisTitle(title: string, kind: ColumnKind, o: DisplayOptions): string {
  if (kind === "money" && o.currency) return `${title} (${o.currency})`;
  return title;
}

/** Round tick values from 0 to at least `max`: steps of 1, 2, 2.5 or 5 × 10ⁿ, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const t = Math.round(i * step * 1e9) / 1e9;
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

/**
 * Tick labels as people write round numbers, one unit for the whole axis (0, 5k, 10k, 15k; 0,
 * 0.5M, 1M), chosen by the largest tick.
 */
export function tickLabels(ticks: readonly number[], kind: ColumnKind): string[] {
  const top = Math.max(0, ...ticks.map(Math.abs));
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  if (kind === "pct") return ticks.map((t) => `${round(t * 100)}%`);
  if (top >= 1e6) return ticks.map((t) => (t === 0 ? "0" : `${round(t / 1e6)}M`));
  if (top >= 1e4) return ticks.map((t) => (t === 0 ? "0" : `${round(t / 1e3)}k`));
  return ticks.map((t) => t.toLocaleString("en-US", { maximumFractionDigits: 2 }));
}

function text(x: number, y: number, body: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(body)}</text>`;
}

function svg(height: number, chart: Chart, body: string): string {
  return (
    `<svg class="chart" data-chart="${chart.type}" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(chart.label)}" ${FONT}>` +
    `<title>${escapeXml(chart.label)}</title>` +
    text(0, 16, chart.label, 'class="chart-title" font-size="14" font-weight="600" fill="#222"') +
    body +
    "</svg>"
  );
}

/** Legend entries (colour swatch + name) in a row starting at (x, y). */
function legend(x: number, y: number, entries: Array<{ colour: string; name: string }>): string {
  const parts: string[] = [`<g class="legend">`];
  let cx = x;
  let cy = y;
  for (const e of entries) {
    const w = 22 + Math.min(64, e.name.length) * 6.6;
    if (cx + w > WIDTH && cx > x) {
      cx = x;
      cy += 18;
    }
    parts.push(
      `<rect x="${cx.toFixed(1)}" y="${cy - 10}" width="12" height="12" fill="${e.colour}"/>`,
      text(cx + 17, cy, short(e.name, 64), 'font-size="12" fill="#333"'),
    );
    cx += w + 14;
  }
  parts.push("</g>");
  return parts.join("");
}

function bars(chart: Extract<Chart, { type: "bars" }>, o: DisplayOptions): string {
  const rowH = 24;
  const labelW = 240;
  const valueW = 120;
  const top = 52;
  const plotW = WIDTH - labelW - valueW;
  const ticks = niceTicks(Math.max(0, ...chart.items.map((i) => i.value)));
  const axisMax = ticks[ticks.length - 1] ?? 1;
  const plotH = Math.max(1, chart.items.length) * rowH;
  const height = top + plotH + 52;
  const parts: string[] = [
    legend(labelW, 36, [{ colour: PALETTE[0], name: axisTitle(chart.legend, chart.kind, o) }]),
    text(
      labelW - 8,
      top - 6,
      chart.categories,
      'text-anchor="end" font-size="11" font-weight="600" fill="#555"',
    ),
  ];
  const labels = tickLabels(ticks, chart.kind);
  ticks.forEach((t, i) => {
    const x = labelW + (t / axisMax) * plotW;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#e3e3e3"/>`,
      text(
        x,
        top + plotH + 16,
        labels[i] ?? "",
        'class="tick" text-anchor="middle" font-size="11" fill="#555"',
      ),
    );
  });
  chart.items.forEach((item, i) => {
    const y = top + i * rowH;
    const w = axisMax > 0 ? Math.max(item.value > 0 ? 2 : 0, (item.value / axisMax) * plotW) : 0;
    parts.push(
      text(labelW - 8, y + 16, short(item.label, 36), 'text-anchor="end" font-size="12" fill="#333"'),
      `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[0]}"><title>${escapeXml(`${item.label}: ${displayCell(item.value, chart.kind, o)}`)}</title></rect>`,
      text(labelW + w + 6, y + 16, displayCell(item.value, chart.kind, o), 'font-size="12" fill="#333"'),
    );
  });
  parts.push(
    `<line x1="${labelW}" x2="${labelW}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`,
    text(
      labelW + plotW / 2,
      top + plotH + 38,
      axisTitle(chart.axis, chart.kind, o),
      'class="axis-title" text-anchor="middle" font-size="12" fill="#333"',
    ),
  );
  return svg(height, chart, parts.join(""));
}

function lines(chart: Extract<Chart, { type: "lines" }>, o: DisplayOptions): string {
  const left = 86;
  const right = 20;
  const top = 40;
  const plotH = 240;
  const n = chart.x.length;
  const plotW = WIDTH - left - right;
  const ticks = niceTicks(Math.max(0, ...chart.series.flatMap((s) => s.values)));
  const axisMax = ticks[ticks.length - 1] ?? 1;
  const scaleY = (v: number) => top + plotH - (axisMax > 0 ? (v / axisMax) * plotH : 0);
  const step = n > 0 ? plotW / n : plotW;
  const parts: string[] = [];
  const labels = tickLabels(ticks, chart.kind);
  ticks.forEach((t, i) => {
    const y = scaleY(t);
    parts.push(
      `<line x1="${left}" x2="${WIDTH - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`,
      text(left - 6, y + 4, labels[i] ?? "", 'class="tick" text-anchor="end" font-size="11" fill="#555"'),
    );
  });
  const labelEvery = Math.max(1, Math.ceil(n / 12));
  chart.x.forEach((x, i) => {
    if (i % labelEvery !== 0) return;
    parts.push(
      text(
        left + step * (i + 0.5),
        top + plotH + 16,
        short(x, 16),
        'text-anchor="middle" font-size="10" fill="#555"',
      ),
    );
  });
  const single = chart.series.length === 1;
  chart.series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length] ?? PALETTE[0];
    if (single) {
      // One series: columns (easier to read than a line for a handful of periods).
      s.values.forEach((v, i) => {
        const y = scaleY(v);
        parts.push(
          `<rect x="${(left + step * i + step * 0.1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, step * 0.8).toFixed(1)}" height="${(top + plotH - y).toFixed(1)}" fill="${colour}"><title>${escapeXml(`${chart.x[i] ?? ""}: ${displayCell(v, chart.kind, o)}`)}</title></rect>`,
        );
      });
      return;
    }
    const points = s.values.map((v, i) => `${(left + step * (i + 0.5)).toFixed(1)},${scaleY(v).toFixed(1)}`);
    if (points.length > 1)
      parts.push(
        `<polyline points="${points.join(" ")}" fill="none" stroke="${colour}" stroke-width="2.5"/>`,
      );
    for (const p of points) {
      const [cx, cy] = p.split(",");
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`);
    }
  });
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`,
    `<line x1="${left}" x2="${WIDTH - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`,
    text(
      left + plotW / 2,
      top + plotH + 36,
      chart.xAxis,
      'class="axis-title" text-anchor="middle" font-size="12" fill="#333"',
    ),
    `<text class="axis-title" transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#333">${escapeXml(axisTitle(chart.yAxis, chart.kind, o))}</text>`,
  );
  const entries = chart.series.map((s, k) => ({
    colour: PALETTE[k % PALETTE.length] ?? PALETTE[0],
    name: s.name,
  }));
  parts.push(legend(left, top + plotH + 62, entries));
  const legendRows = Math.ceil(
    entries.reduce((a, e) => a + 36 + Math.min(64, e.name.length) * 6.6, 0) / plotW,
  );
  return svg(top + plotH + 70 + legendRows * 18, chart, parts.join(""));
}

/** Blue scale from light (low) to dark (high); 0 is near-white but still tinted. */
export function heatColour(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const from = [222, 235, 247];
  const to = [8, 81, 156];
  const c = from.map((a, i) => Math.round(a + ((to[i] ?? a) - a) * f));
  return `rgb(${c.join(",")})`;
}

function heatmap(chart: Extract<Chart, { type: "heatmap" }>, o: DisplayOptions): string {
  const left = 130;
  const top = 74;
  const cols = Math.max(1, chart.columns.length);
  const cellW = Math.min(34, (WIDTH - left - 20) / cols);
  const cellH = 20;
  const plotH = chart.rows.length * cellH;
  // The colour scale runs to a round number, so each step of the legend has a round value.
  const ticks = niceTicks(Math.max(0, ...chart.values.flat().map((v) => v ?? 0)), 4);
  const max = ticks[ticks.length - 1] ?? 1;
  const parts: string[] = [];
  chart.columns.forEach((c, j) => {
    parts.push(
      text(left + cellW * (j + 0.5), top - 6, short(c, 6), 'text-anchor="middle" font-size="10" fill="#555"'),
    );
  });
  chart.rows.forEach((r, i) => {
    const y = top + i * cellH;
    parts.push(text(left - 6, y + 14, short(r, 16), 'text-anchor="end" font-size="11" fill="#333"'));
    chart.columns.forEach((_, j) => {
      const v = chart.values[i]?.[j] ?? null;
      if (v === null) return;
      parts.push(
        `<rect x="${(left + cellW * j).toFixed(1)}" y="${y}" width="${(cellW - 1).toFixed(1)}" height="${cellH - 1}" fill="${heatColour(max > 0 ? v / max : 0)}"><title>${escapeXml(`${r} · ${chart.columns[j] ?? ""}: ${displayCell(v, chart.kind, o)}`)}</title></rect>`,
      );
    });
  });
  // Columns' title over the grid, rows' title on its own line above it: a narrow grid has no room
  // for both side by side, and a rotated title does not fit a grid of two rows.
  parts.push(
    text(left, top - 22, `→ ${chart.xAxis}`, 'class="axis-title" font-size="12" fill="#333"'),
    text(0, top - 40, `↓ ${chart.yAxis}`, 'class="axis-title" font-size="12" fill="#333"'),
  );
  // The colour scale: a swatch at each round value from 0 to the top of the scale.
  const legendY = top + plotH + 18;
  const stepW = 70;
  const steps = ticks.map((t) => t / max);
  const values =
    chart.kind === "money" ? ticks.map((t) => displayCell(t, "int")) : tickLabels(ticks, chart.kind);
  const scale = steps
    .map(
      (f, k) =>
        `<rect x="${left + k * stepW}" y="${legendY}" width="${stepW - 2}" height="12" fill="${heatColour(f)}"/>` +
        text(
          left + k * stepW + (stepW - 2) / 2,
          legendY + 26,
          values[k] ?? "",
          'text-anchor="middle" font-size="11" fill="#333"',
        ),
    )
    .join("");
  parts.push(
    `<g class="legend colour-scale">`,
    text(
      left - 6,
      legendY + 11,
      axisTitle(chart.legend, chart.kind, o),
      'text-anchor="end" font-size="11" font-weight="600" fill="#555"',
    ),
    scale,
    text(
      left + steps.length * stepW + 8,
      legendY + 11,
      chart.values.some((row) => row.some((v) => v === null))
        ? "darker = more; blank = not reached yet"
        : "darker = more",
      'font-size="11" fill="#666"',
    ),
    "</g>",
  );
  return svg(legendY + 40, chart, parts.join(""));
}

export function renderChart(chart: Chart, o: DisplayOptions = {}): string {
  switch (chart.type) {
    case "bars":
      return bars(chart, o);
    case "lines":
      return lines(chart, o);
    case "heatmap":
      return heatmap(chart, o);
  }
}
