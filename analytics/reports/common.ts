import { UsageError } from "../../core/errors.ts";
import type { Column, ColumnKind, Section } from "../model.ts";
import type { ReportParams } from "../options.ts";
import type { ReportSource } from "../source.ts";

export interface ReportContext {
  source: ReportSource;
  params: ReportParams;
}

export interface ReportOutput {
  title: string;
  data: Record<string, unknown>;
  sections: Section[];
  empty: boolean;
}

export type ReportFn = (ctx: ReportContext) => Promise<ReportOutput>;

export function col(key: string, label: string, kind: ColumnKind = "text"): Column {
  return { key, label, kind };
}

/** The aggregates are per category or per brand, never per pair: refuse the pair. */
export function oneSalesFilter(p: ReportParams, report: string): void {
  if (p.category !== undefined && p.brand !== undefined)
    throw new UsageError(
      `${report}: give --category or --brand, not both (the sales aggregates are per category or per brand, not per pair)`,
    );
}

/** Refuses filters a report cannot honour, naming the flag. */
export function noFilters(p: ReportParams, report: string, why: string): void {
  for (const [flag, value] of [
    ["--category", p.category],
    ["--brand", p.brand],
  ] as const)
    if (value !== undefined) throw new UsageError(`${report}: ${flag} does not apply (${why})`);
}

/** "2019-10-01 .. 2019-10-07" style description of the range. */
export function describeRange(p: ReportParams): string {
  const f = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z").replace("T00:00:00Z", "");
  if (p.from === undefined && p.to === undefined) return "all time";
  return `${p.from === undefined ? "start" : f(p.from)} ≤ t < ${p.to === undefined ? "now" : f(p.to)}`;
}

export function filterNote(p: ReportParams): string {
  const parts = [`Range (event time, UTC): ${describeRange(p)}`];
  if (p.category !== undefined) parts.push(`category: ${p.category}`);
  if (p.brand !== undefined) parts.push(`brand: ${p.brand}`);
  return parts.join(" · ");
}

/** The parameters as the JSON output shows them. */
export function paramsJson(p: ReportParams): Record<string, unknown> {
  return {
    from: p.from === undefined ? null : new Date(p.from).toISOString(),
    to: p.to === undefined ? null : new Date(p.to).toISOString(),
    category: p.category ?? null,
    brand: p.brand ?? null,
  };
}
