import type { Chart, ColumnKind } from "../model.ts";
import { displayCell } from "./values.ts";

/**
 * Charts as inline SVG: no script, no font or network fetch, so the HTML file opens anywhere,
 * mail clients' previews included. Colours come from one palette; the first is the main series.
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

const WIDTH = 760;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function fmt(value: number, kind: ColumnKind): string {
  return displayCell(value, kind);
}

function short(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function svg(height: number, label: string, body: string): string {
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(label)}">` +
    `<title>${escapeXml(label)}</title>${body}</svg>`
  );
}

function bars(chart: Extract<Chart, { type: "bars" }>): string {
  const rowH = 24;
  const labelW = 220;
  const valueW = 110;
  const plotW = WIDTH - labelW - valueW;
  const max = Math.max(0, ...chart.items.map((i) => i.value));
  const height = Math.max(1, chart.items.length) * rowH + 10;
  const body = chart.items
    .map((item, i) => {
      const y = 5 + i * rowH;
      const w = max > 0 ? Math.max(item.value > 0 ? 2 : 0, (item.value / max) * plotW) : 0;
      return (
        `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" font-size="12" fill="#333">${escapeXml(short(item.label, 32))}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[0]}"/>` +
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 16}" font-size="12" fill="#333">${escapeXml(fmt(item.value, chart.kind))}</text>`
      );
    })
    .join("");
  return svg(height, chart.label, body);
}

function lines(chart: Extract<Chart, { type: "lines" }>): string {
  const height = 300;
  const left = 80;
  const right = 20;
  const top = 20;
  const bottom = 60;
  const plotW = WIDTH - left - right;
  const plotH = height - top - bottom;
  const n = chart.x.length;
  const max = Math.max(0, ...chart.series.flatMap((s) => s.values));
  const scaleY = (v: number) => top + plotH - (max > 0 ? (v / max) * plotH : 0);
  const step = n > 0 ? plotW / n : plotW;
  const parts: string[] = [];
  // Axes and three gridlines with values.
  for (let g = 0; g <= 3; g++) {
    const v = (max * g) / 3;
    const y = scaleY(v);
    parts.push(
      `<line x1="${left}" x2="${WIDTH - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#555">${escapeXml(fmt(v, chart.kind))}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(n / 12));
  chart.x.forEach((x, i) => {
    if (i % labelEvery !== 0) return;
    const cx = left + step * (i + 0.5);
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(short(x, 16))}</text>`,
    );
  });
  if (chart.series.length === 1) {
    // One series: columns (easier to read than a line for a handful of periods).
    const values = chart.series[0]?.values ?? [];
    values.forEach((v, i) => {
      const y = scaleY(v);
      const w = Math.max(1, step * 0.8);
      parts.push(
        `<rect x="${(left + step * i + step * 0.1).toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(top + plotH - y).toFixed(1)}" fill="${PALETTE[0]}"/>`,
      );
    });
  } else {
    chart.series.forEach((s, k) => {
      const colour = PALETTE[k % PALETTE.length];
      const points = s.values.map(
        (v, i) => `${(left + step * (i + 0.5)).toFixed(1)},${scaleY(v).toFixed(1)}`,
      );
      if (points.length > 1)
        parts.push(
          `<polyline points="${points.join(" ")}" fill="none" stroke="${colour}" stroke-width="2.5"/>`,
        );
      for (const p of points) {
        const [cx, cy] = p.split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`);
      }
      parts.push(
        `<rect x="${left + (k % 4) * 170}" y="${height - 30 + Math.floor(k / 4) * 14}" width="10" height="10" fill="${colour}"/>`,
        `<text x="${left + (k % 4) * 170 + 14}" y="${height - 21 + Math.floor(k / 4) * 14}" font-size="11" fill="#333">${escapeXml(short(s.name, 24))}</text>`,
      );
    });
  }
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`,
    `<line x1="${left}" x2="${WIDTH - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`,
  );
  return svg(height, chart.label, parts.join(""));
}

/** Blue scale from light (low) to dark (high); 0 is near-white but still tinted. */
export function heatColour(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const from = [222, 235, 247];
  const to = [8, 81, 156];
  const c = from.map((a, i) => Math.round(a + ((to[i] ?? a) - a) * f));
  return `rgb(${c.join(",")})`;
}

function heatmap(chart: Extract<Chart, { type: "heatmap" }>): string {
  const left = 110;
  const top = 24;
  const cols = Math.max(1, chart.columns.length);
  const cellW = Math.min(40, (WIDTH - left - 10) / cols);
  const cellH = 20;
  const height = top + chart.rows.length * cellH + 10;
  const max = Math.max(0, ...chart.values.flat().map((v) => v ?? 0));
  const parts: string[] = [];
  chart.columns.forEach((c, j) => {
    parts.push(
      `<text x="${(left + cellW * (j + 0.5)).toFixed(1)}" y="${top - 8}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(short(c, 6))}</text>`,
    );
  });
  chart.rows.forEach((r, i) => {
    const y = top + i * cellH;
    parts.push(
      `<text x="${left - 6}" y="${y + 14}" text-anchor="end" font-size="11" fill="#333">${escapeXml(short(r, 16))}</text>`,
    );
    chart.columns.forEach((_, j) => {
      const v = chart.values[i]?.[j] ?? null;
      if (v === null) return;
      const fill = heatColour(max > 0 ? v / max : 0);
      parts.push(
        `<rect x="${(left + cellW * j).toFixed(1)}" y="${y}" width="${(cellW - 1).toFixed(1)}" height="${cellH - 1}" fill="${fill}"><title>${escapeXml(`${r} · ${chart.columns[j] ?? ""}: ${fmt(v, chart.kind)}`)}</title></rect>`,
      );
    });
  });
  return svg(height, chart.label, parts.join(""));
}

export function renderChart(chart: Chart): string {
  switch (chart.type) {
    case "bars":
      return bars(chart);
    case "lines":
      return lines(chart);
    case "heatmap":
      return heatmap(chart);
  }
}
