import { createHash } from "node:crypto";
import type { SavedObjectReference } from "./saved-objects.ts";

/**
 * Typed panel definitions and their translation into Lens "by value" state, in the shape Kibana
 * 8.x persists it (formBased datasource, one layer per panel, columns keyed by id).
 *
 * Ids (layers, columns, panels) are derived from names with a hash, so the generated NDJSON is
 * the same on every run and a diff shows only real changes.
 */

/** A metric (one number per bucket). `filter` is KQL applied to that metric only. */
export type Metric =
  | { op: "count"; label: string; filter?: string; format?: NumberFormat }
  | {
      op: "sum" | "average" | "min" | "max" | "median" | "unique_count";
      field: string;
      label: string;
      filter?: string;
      format?: NumberFormat;
    }
  | {
      /** `numerator / denominator`, or `1 - numerator / denominator` with `complement`. */
      op: "ratio";
      numerator: SumOf;
      denominator: SumOf;
      complement?: boolean;
      label: string;
      format?: NumberFormat;
    };

export interface SumOf {
  op: "sum";
  field: string;
}

export type NumberFormat = "number" | "integer" | "percent";

/** A bucket (a split of the documents). */
export type Bucket =
  | { op: "date_histogram"; field: string; label?: string; interval?: string }
  | {
      op: "terms";
      field: string;
      label: string;
      size: number;
      /** Order by the chart's first metric (default) or alphabetically ascending. */
      order?: "metric" | "alphabetical";
      otherBucket?: boolean;
    }
  | { op: "histogram"; field: string; label: string };

export type Chart =
  | { type: "metric"; metric: Metric }
  | {
      type: "xy";
      series: "line" | "area" | "bar" | "bar_stacked" | "bar_horizontal" | "bar_percentage_stacked";
      x: Bucket;
      breakdown?: Bucket;
      y: Metric[];
      /** Labels of the metrics drawn against the right axis. */
      rightAxis?: string[];
    }
  | { type: "pie"; shape: "pie" | "donut" | "treemap"; groups: Bucket[]; metric: Metric }
  | { type: "table"; rows: Bucket[]; metrics: Metric[] }
  | { type: "heatmap"; x: Bucket; y: Bucket; value: Metric };

export interface PanelDef {
  /** Stable name inside the dashboard; panel and layer ids derive from it. */
  key: string;
  title: string;
  /** Position on Kibana's 48-column grid. */
  grid: { x: number; y: number; w: number; h: number };
  /** Id of the data view the panel reads. */
  dataView: string;
  /** KQL applied to the whole panel, e.g. `dimension : "all"`. */
  query?: string;
  chart: Chart;
}

export interface DashboardDef {
  id: string;
  title: string;
  description: string;
  panels: PanelDef[];
  /** Time range stored with the dashboard. */
  timeFrom: string;
  timeTo: string;
}

/** A deterministic UUID-shaped id (RFC 4122 layout, version nibble 5) from a name. */
export function stableId(...parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\u0000")).digest("hex");
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const RECORDS_FIELD = "___records___";

type Column = Record<string, unknown>;

/** Field types Lens needs to know a column's data type; filled from the mappings by the caller. */
export type FieldKind = "number" | "string" | "date" | "boolean";

interface LayerBuild {
  columns: Record<string, Column>;
  order: string[];
}

function formatParams(format: NumberFormat | undefined): Record<string, unknown> {
  if (format === "percent") return { format: { id: "percent", params: { decimals: 1 } } };
  if (format === "integer") return { format: { id: "number", params: { decimals: 0 } } };
  if (format === "number") return { format: { id: "number", params: { decimals: 2 } } };
  return {};
}

function kql(query: string): { query: string; language: "kuery" } {
  return { query, language: "kuery" };
}

class LayerBuilder {
  readonly columns: Record<string, Column> = {};
  readonly order: string[] = [];
  constructor(
    private readonly seed: string,
    private readonly kindOf: (field: string) => FieldKind,
  ) {}

  private add(id: string, column: Column): string {
    this.columns[id] = column;
    this.order.push(id);
    return id;
  }

  metric(m: Metric, role: string): string {
    const id = stableId(this.seed, "column", role, m.label);
    if (m.op === "ratio") return this.ratio(id, m);
    const base: Column = { label: m.label, customLabel: true, dataType: "number", isBucketed: false };
    const filter = m.filter ? { filter: kql(m.filter) } : {};
    if (m.op === "count") {
      return this.add(id, {
        ...base,
        operationType: "count",
        scale: "ratio",
        sourceField: RECORDS_FIELD,
        ...filter,
        params: { emptyAsNull: true, ...formatParams(m.format) },
      });
    }
    return this.add(id, {
      ...base,
      operationType: m.op,
      scale: "ratio",
      sourceField: m.field,
      ...filter,
      params: { emptyAsNull: true, ...formatParams(m.format) },
    });
  }

  /**
   * A Lens formula as Lens stores it: the formula column, a math column holding the parsed
   * (tinymath) expression, and one hidden column per aggregation it uses.
   */
  private ratio(id: string, m: Extract<Metric, { op: "ratio" }>): string {
    const numText = `${m.numerator.op}(${m.numerator.field})`;
    const denText = `${m.denominator.op}(${m.denominator.field})`;
    const divideText = `${numText} / ${denText}`;
    const text = m.complement ? `1 - ${divideText}` : divideText;
    const part = `Part of ${m.label}`;
    const x0 = `${id}X0`;
    const x1 = `${id}X1`;
    const x2 = `${id}X2`;
    const partColumn = (field: string): Column => ({
      label: part,
      customLabel: true,
      dataType: "number",
      isBucketed: false,
      operationType: "sum",
      scale: "ratio",
      sourceField: field,
      params: { emptyAsNull: false },
    });
    const divide = {
      type: "function",
      name: "divide",
      args: [x0, x1],
      location: { min: text.length - divideText.length, max: text.length },
      text: divideText,
    };
    const ast = m.complement
      ? {
          type: "function",
          name: "subtract",
          args: [1, divide],
          location: { min: 0, max: text.length },
          text,
        }
      : divide;
    this.add(id, {
      label: m.label,
      customLabel: true,
      dataType: "number",
      isBucketed: false,
      operationType: "formula",
      scale: "ratio",
      params: { formula: text, isFormulaBroken: false, ...formatParams(m.format) },
      references: [x2],
    });
    this.add(x0, partColumn(m.numerator.field));
    this.add(x1, partColumn(m.denominator.field));
    this.add(x2, {
      label: part,
      customLabel: true,
      dataType: "number",
      isBucketed: false,
      operationType: "math",
      scale: "ratio",
      params: { tinymathAst: ast },
      references: [x0, x1],
    });
    return id;
  }

  /** Buckets go before metrics in Lens' column order; `orderColumn` ranks terms buckets. */
  bucket(b: Bucket, role: string, orderColumn: string | undefined): string {
    const id = stableId(this.seed, "column", role, b.field);
    let column: Column;
    switch (b.op) {
      case "date_histogram":
        column = {
          label: b.label ?? b.field,
          customLabel: b.label !== undefined,
          dataType: "date",
          isBucketed: true,
          operationType: "date_histogram",
          scale: "interval",
          sourceField: b.field,
          params: { interval: b.interval ?? "auto", includeEmptyRows: true, dropPartials: false },
        };
        break;
      case "terms": {
        const byMetric = (b.order ?? "metric") === "metric" && orderColumn !== undefined;
        column = {
          label: b.label,
          customLabel: true,
          dataType: this.kindOf(b.field),
          isBucketed: true,
          operationType: "terms",
          scale: "ordinal",
          sourceField: b.field,
          params: {
            size: b.size,
            orderBy: byMetric
              ? { type: "column", columnId: orderColumn }
              : { type: "alphabetical", fallback: false },
            orderDirection: byMetric ? "desc" : "asc",
            otherBucket: b.otherBucket ?? false,
            missingBucket: false,
            parentFormat: { id: "terms" },
            include: [],
            exclude: [],
            includeIsRegex: false,
            excludeIsRegex: false,
          },
        };
        break;
      }
      case "histogram":
        column = {
          label: b.label,
          customLabel: true,
          dataType: "number",
          isBucketed: true,
          operationType: "range",
          scale: "interval",
          sourceField: b.field,
          params: {
            type: "histogram",
            ranges: [{ from: 0, to: 1000, label: "" }],
            maxBars: "auto",
            includeEmptyRows: true,
            // No parentFormat: Lens sets it only in range mode (ranges.tsx, onChangeMode); with it a
            // histogram's numeric buckets go through the range formatter and every label breaks.
          },
        };
        break;
    }
    this.columns[id] = column;
    // Buckets lead the column order, in the order they were added.
    const firstMetric = this.order.findIndex((c) => this.columns[c]?.isBucketed === false);
    if (firstMetric === -1) this.order.push(id);
    else this.order.splice(firstMetric, 0, id);
    return id;
  }

  build(): LayerBuild {
    return { columns: this.columns, order: this.order };
  }
}

export interface BuiltPanel {
  /** Goes into the dashboard's panelsJSON. */
  panel: Record<string, unknown>;
  /** Goes into the dashboard's references, prefixed with the panel index. */
  references: SavedObjectReference[];
}

/** The datasource reference name Lens uses for a layer. */
export function layerRefName(layerId: string): string {
  return `indexpattern-datasource-layer-${layerId}`;
}

/** Translates one typed panel into a Lens by-value dashboard panel. */
export function buildPanel(
  dashboardId: string,
  def: PanelDef,
  kindOf: (field: string) => FieldKind,
  panelVersion: string,
): BuiltPanel {
  const panelIndex = stableId(dashboardId, "panel", def.key);
  const layerId = stableId(dashboardId, def.key, "layer");
  const layer = new LayerBuilder(`${dashboardId}/${def.key}`, kindOf);
  const chart = def.chart;
  let visualizationType: string;
  let visualization: Record<string, unknown>;

  switch (chart.type) {
    case "metric": {
      const metricAccessor = layer.metric(chart.metric, "metric");
      visualizationType = "lnsMetric";
      visualization = { layerId, layerType: "data", metricAccessor };
      break;
    }
    case "xy": {
      const accessors = chart.y.map((m, i) => layer.metric(m, `y${i}`));
      const xAccessor = layer.bucket(chart.x, "x", accessors[0]);
      const splitAccessor = chart.breakdown
        ? layer.bucket(chart.breakdown, "breakdown", accessors[0])
        : undefined;
      const right = new Set(chart.rightAxis ?? []);
      const yConfig = chart.y.flatMap((m, i) =>
        right.has(m.label) ? [{ forAccessor: accessors[i], axisMode: "right" }] : [],
      );
      visualizationType = "lnsXY";
      visualization = {
        legend: { isVisible: true, position: "bottom", showSingleSeries: chart.y.length > 1 },
        valueLabels: "hide",
        fittingFunction: "None",
        axisTitlesVisibilitySettings: { x: true, yLeft: true, yRight: true },
        tickLabelsVisibilitySettings: { x: true, yLeft: true, yRight: true },
        gridlinesVisibilitySettings: { x: true, yLeft: true, yRight: true },
        labelsOrientation: { x: 0, yLeft: 0, yRight: 0 },
        preferredSeriesType: chart.series,
        layers: [
          {
            layerId,
            layerType: "data",
            seriesType: chart.series,
            accessors,
            xAccessor,
            ...(splitAccessor ? { splitAccessor } : {}),
            ...(yConfig.length > 0 ? { yConfig } : {}),
            position: "top",
            showGridlines: false,
          },
        ],
      };
      break;
    }
    case "pie": {
      const metric = layer.metric(chart.metric, "metric");
      const primaryGroups = chart.groups.map((g, i) => layer.bucket(g, `group${i}`, metric));
      visualizationType = "lnsPie";
      visualization = {
        shape: chart.shape,
        layers: [
          {
            layerId,
            layerType: "data",
            primaryGroups,
            metrics: [metric],
            numberDisplay: "percent",
            categoryDisplay: "default",
            legendDisplay: "default",
            nestedLegend: false,
          },
        ],
      };
      break;
    }
    case "table": {
      const metrics = chart.metrics.map((m, i) => layer.metric(m, `metric${i}`));
      const rows = chart.rows.map((r, i) => layer.bucket(r, `row${i}`, metrics[0]));
      visualizationType = "lnsDatatable";
      visualization = {
        layerId,
        layerType: "data",
        columns: [...rows, ...metrics].map((columnId) => ({ columnId, isTransposed: false })),
        ...(metrics[0] ? { sorting: { columnId: metrics[0], direction: "desc" } } : {}),
        rowHeight: "single",
        rowHeightLines: 1,
      };
      break;
    }
    case "heatmap": {
      const valueAccessor = layer.metric(chart.value, "value");
      const xAccessor = layer.bucket(chart.x, "x", valueAccessor);
      const yAccessor = layer.bucket(chart.y, "y", valueAccessor);
      visualizationType = "lnsHeatmap";
      visualization = {
        shape: "heatmap",
        layerId,
        layerType: "data",
        xAccessor,
        yAccessor,
        valueAccessor,
        legend: {
          isVisible: true,
          position: "right",
          type: "heatmap_legend",
          maxLines: 1,
          shouldTruncate: true,
        },
        gridConfig: {
          type: "heatmap_grid",
          isCellLabelVisible: false,
          isYAxisLabelVisible: true,
          isXAxisLabelVisible: true,
          isYAxisTitleVisible: true,
          isXAxisTitleVisible: true,
        },
      };
      break;
    }
  }

  const built = layer.build();
  const reference: SavedObjectReference = {
    type: "index-pattern",
    id: def.dataView,
    name: layerRefName(layerId),
  };
  const attributes = {
    title: def.title,
    description: "",
    visualizationType,
    type: "lens",
    references: [reference],
    state: {
      visualization,
      query: kql(def.query ?? ""),
      filters: [],
      datasourceStates: {
        formBased: {
          layers: {
            [layerId]: {
              columns: built.columns,
              columnOrder: built.order,
              incompleteColumns: {},
              sampling: 1,
            },
          },
        },
        textBased: { layers: {} },
      },
      internalReferences: [],
      adHocDataViews: {},
    },
  };
  return {
    panel: {
      version: panelVersion,
      type: "lens",
      gridData: { ...def.grid, i: panelIndex },
      panelIndex,
      embeddableConfig: { attributes, enhancements: {}, hidePanelTitles: false },
      title: def.title,
    },
    references: [{ ...reference, name: `${panelIndex}:${reference.name}` }],
  };
}
