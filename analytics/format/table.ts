import type { ReportResult, Section, Table } from "../model.ts";
import { type DisplayOptions, displayCell, forPeople, isNumeric, kindOf } from "./values.ts";

/**
 * Plain-text tables that fit the terminal: free-text columns are shortened with "…" first (never
 * below MIN_TEXT); the first column, columns marked `keep` (customer ids), numbers and dates are
 * never cut. If the table is still too wide its columns are split into several tables,
 * each repeating the first column, so no line is ever wider than `width`. Piped (no terminal),
 * the width is unlimited: nothing is shortened or split.
 */

const MIN_TEXT = 12;
const GAP = "  ";

/** Display width of a string (code points; the reports' text is not East-Asian wide). */
function len(s: string): number {
  return [...s].length;
}

export function truncate(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 1) return chars.slice(0, width).join("");
  return `${chars.slice(0, width - 1).join("")}…`;
}

function pad(s: string, width: number, right: boolean): string {
  const fill = " ".repeat(Math.max(0, width - len(s)));
  return right ? fill + s : s + fill;
}

function totalWidth(widths: readonly number[]): number {
  return widths.reduce((a, b) => a + b, 0) + GAP.length * Math.max(0, widths.length - 1);
}

/** Renders one table within `width` columns. */
export function renderTable(all: Table, width: number, o: DisplayOptions = {}): string {
  const table = forPeople(all);
  if (table.columns.length === 0) return "";
  // Control characters (a newline in a brand name) would break the grid: shown as spaces.
  const cells = table.rows.map((row) =>
    table.columns.map((c) => displayCell(row[c.key] ?? null, kindOf(c, row), o).replace(/\p{Cc}+/gu, " ")),
  );
  const widths = table.columns.map((c, i) => Math.max(len(c.label), ...cells.map((r) => len(r[i] ?? ""))));
  // Shrink the widest free-text column one step at a time until it fits; the first column only
  // when the others are at their floor (it names the row and is repeated in split tables).
  const shrinkable = (i: number, firstToo: boolean) => {
    const column = table.columns[i];
    if (!column || column.keep || isNumeric(column.kind) || column.kind === "date") return false;
    return i > 0 || firstToo;
  };
  for (const firstToo of [false, true]) {
    while (totalWidth(widths) > width) {
      let widest = -1;
      for (let i = 0; i < widths.length; i++) {
        const w = widths[i] ?? 0;
        if (shrinkable(i, firstToo) && w > MIN_TEXT && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
      }
      if (widest < 0) break;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  }
  // Still too wide: split the columns into groups that fit, each led by the first column.
  const groups: number[][] = [];
  let current: number[] = [0];
  for (let i = 1; i < widths.length; i++) {
    const candidate = [...current, i];
    if (totalWidth(candidate.map((j) => widths[j] ?? 0)) > width && current.length > 1) {
      groups.push(current);
      current = [0, i];
    } else current = candidate;
  }
  groups.push(current);
  const blocks = groups.map((group) => {
    const w = group.map((j) => widths[j] ?? 0);
    const line = (values: string[], header: boolean) =>
      group
        .map((j, k) => {
          const column = table.columns[j];
          const right = column !== undefined && isNumeric(column.kind) && !header;
          const rightHeader = column !== undefined && isNumeric(column.kind) && header;
          return pad(truncate(values[j] ?? "", w[k] ?? 0), w[k] ?? 0, right || rightHeader);
        })
        .join(GAP)
        .trimEnd();
    // Only a very narrow terminal gets here with a line still too long (kept ids, big numbers).
    const clip = (text: string) => truncate(text, width);
    const header = line(
      table.columns.map((c) => c.label),
      true,
    );
    const rule = w.map((x) => "─".repeat(x)).join(GAP);
    return [clip(header), clip(rule), ...cells.map((r) => clip(line(r, false)))].join("\n");
  });
  return blocks.join("\n\n");
}

function renderSection(section: Section, width: number, o: DisplayOptions): string {
  const title = truncate(section.title, width);
  const out = [title, "=".repeat(len(title))];
  for (const note of section.notes ?? []) out.push(truncate(note, width));
  if (section.notes?.length) out.push("");
  out.push(section.table.rows.length === 0 ? "(no rows)" : renderTable(section.table, width, o));
  return out.join("\n");
}

export function renderText(results: readonly ReportResult[], width: number, o: DisplayOptions = {}): string {
  return results
    .map((r) => {
      const head = `${r.title}${r.empty ? " — no data in the selected range/filter" : ""}`;
      return [truncate(head, width), "", ...r.sections.map((s) => `${renderSection(s, width, o)}\n`)].join(
        "\n",
      );
    })
    .join("\n")
    .trimEnd();
}
