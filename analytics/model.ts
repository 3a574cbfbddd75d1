/**
 * What a report produces: its figures as plain data (the JSON output) and the same figures laid
 * out as titled sections of tables and charts, which every other format renders. Reports build
 * the model once; formats never query anything.
 */

/** `change`: a relative change (0.1 = +10 %); `pts`: a difference of rates in points (0.01 = +1 pt). */
export type ColumnKind = "text" | "int" | "money" | "pct" | "num" | "date" | "change" | "pts";

export interface Column {
  /** The JSON key of the figure: also the CSV header. */
  key: string;
  /** What people read: table, Markdown and HTML headers. */
  label: string;
  kind: ColumnKind;
  /** Never shortened in text tables (identifiers people copy: customer ids). */
  keep?: boolean;
  /** The kind of each cell is in this field of its row (a table of mixed figures). */
  kindFrom?: string;
  /** For scripts only: in CSV, not in what people read (a figure's key beside its label). */
  machine?: boolean;
}

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

export interface Table {
  columns: Column[];
  rows: Row[];
}

/**
 * A chart drawn as inline SVG in the HTML format (other formats show the table only). Every chart
 * names its axes and what its colours mean (`legend`).
 */
export type Chart =
  | {
      type: "bars";
      label: string;
      kind: ColumnKind;
      /** Title of the value axis, e.g. "Revenue (EUR)". */
      axis: string;
      /** Title of the category axis, e.g. "Category". */
      categories: string;
      /** What a bar is, for the legend. */
      legend: string;
      items: Array<{ label: string; value: number }>;
    }
  | {
      type: "lines";
      label: string;
      kind: ColumnKind;
      xAxis: string;
      yAxis: string;
      /** x labels, in order. */
      x: string[];
      series: Array<{ name: string; values: number[] }>;
    }
  | {
      type: "heatmap";
      label: string;
      kind: ColumnKind;
      xAxis: string;
      yAxis: string;
      /** What the colour measures, for the colour scale: "Events", "Revenue". */
      legend: string;
      rows: string[];
      columns: string[];
      /** values[row][column]; null = no cell (e.g. a cohort week not reached yet). */
      values: Array<Array<number | null>>;
    };

/** A headline figure, with the same figure over the previous period of the same length. */
export interface Kpi {
  key: string;
  label: string;
  kind: ColumnKind;
  value: number | null;
  /** undefined: no comparison asked (`--compare none`); null: no figure then. */
  previous?: number | null;
  /** Relative change (0.1 = +10 %), or for rates (`pct`) the difference in points (0.01 = +1 pt). */
  change?: number | null;
}

export interface Section {
  /** Stable snake_case name: the CSV file of the table is `<report>-<id>.csv`. */
  id: string;
  title: string;
  /** Short facts shown above the table, e.g. "Data range: ...". */
  notes?: string[];
  /** Headline cards (HTML), a table elsewhere. */
  kpis?: Kpi[];
  table: Table;
  chart?: Chart;
}

/** What the header of a report says: which data, which period, when, in which units. */
export interface ReportMeta {
  dataset: { topic: string; index_prefix: string };
  /** The period asked (ISO, UTC; null = open). */
  period: { from: string | null; to: string | null };
  /** The period compared with, when `--compare previous`. */
  compare: "previous" | "none";
  /** The previous period of the same length the headline figures are compared with (overview). */
  previous_period: { from: string; to: string } | null;
  generated_at: string;
  time_zone: "UTC";
  /** ISO 4217 code, or null: amounts are plain numbers. */
  currency: string | null;
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
