/**
 * What a report produces: its figures as plain data (the JSON output) and the same figures laid
 * out as titled sections of tables and charts, which every other format renders. Reports build
 * the model once; formats never query anything.
 */

export type ColumnKind = "text" | "int" | "money" | "pct" | "num" | "date";

export interface Column {
  key: string;
  label: string;
  kind: ColumnKind;
  /** Never shortened in text tables (identifiers people copy: customer ids). */
  keep?: boolean;
}

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

export interface Table {
  columns: Column[];
  rows: Row[];
}

/** A chart drawn as inline SVG in the HTML format (other formats show the table only). */
export type Chart =
  | { type: "bars"; label: string; kind: ColumnKind; items: Array<{ label: string; value: number }> }
  | {
      type: "lines";
      label: string;
      kind: ColumnKind;
      /** x labels, in order. */
      x: string[];
      series: Array<{ name: string; values: number[] }>;
    }
  | {
      type: "heatmap";
      label: string;
      kind: ColumnKind;
      rows: string[];
      columns: string[];
      /** values[row][column]; null = no cell (e.g. a cohort week not reached yet). */
      values: Array<Array<number | null>>;
    };

export interface Section {
  title: string;
  /** Short facts shown above the table, e.g. "Data range: ...". */
  notes?: string[];
  table: Table;
  chart?: Chart;
}

export interface ReportResult {
  /** The report's name, e.g. `overview`. */
  report: string;
  title: string;
  /** The filters and options in force, as given (ISO times, UTC). */
  params: Record<string, unknown>;
  /** The figures: this is the `--format json` body. */
  data: Record<string, unknown>;
  sections: Section[];
  /** True when the range or filter selected nothing (the indices do have data). */
  empty: boolean;
  /** Milliseconds spent in Elasticsearch requests and in total. */
  timings: { queries: number; es_ms: number; total_ms: number };
}
