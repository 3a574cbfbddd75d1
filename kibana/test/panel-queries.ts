import type { SavedObject } from "../saved-objects.ts";

/**
 * What Kibana asks Elasticsearch for each Lens panel, derived from the saved objects the way Lens
 * builds its `esaggs` request (x-pack/plugins/lens/public/datasources/form_based/to_expression.ts
 * and the operation definitions: terms → a terms aggregation ordered by its order column, date
 * histogram → date_histogram, range in histogram mode → histogram, sum/average/max/count/unique
 * count → the metric aggregation, a metric's KQL filter → a filter aggregation, the panel's KQL →
 * the query, the data view's time field → the time range filter), and the same table computed in
 * plain TypeScript over documents an independent computation produced. Two choices stand in for
 * what Kibana computes from the screen: date histograms use a fixed 1-day interval ("auto" depends
 * on the time picker and the panel width) and histograms an interval of 1,000.
 */

export type Doc = Record<string, unknown>;
export type Query = Record<string, unknown>;

export interface Bucket {
  id: string;
  op: "terms" | "date_histogram" | "histogram";
  field: string;
  size?: number;
  /** Metric id to order terms by (descending), or alphabetical. */
  orderBy?: string;
}

export interface Metric {
  id: string;
  label: string;
  op: "sum" | "average" | "max" | "min" | "count" | "unique_count" | "formula";
  field?: string;
  /** KQL of the metric's own filter. */
  filter?: string;
  /** formula: `numerator / denominator`, or `1 - …` with complement. */
  ratio?: { numerator: string; denominator: string; complement: boolean };
}

export interface PanelSpec {
  dashboard: string;
  title: string;
  /** The alias the data view reads (its title). */
  index: string;
  timeField: string;
  kql: string;
  buckets: Bucket[];
  metrics: Metric[];
}

const DATE_INTERVAL_MS = 86_400_000;
const HISTOGRAM_INTERVAL = 1000;

type Json = Record<string, unknown>;

/** Every Lens panel of the dashboards, as the query it makes. */
export function panelSpecs(objects: readonly SavedObject[]): PanelSpec[] {
  const views = new Map(
    objects.filter((o) => o.type === "index-pattern").map((o) => [o.id, o.attributes as Json]),
  );
  const out: PanelSpec[] = [];
  for (const dashboard of objects.filter((o) => o.type === "dashboard")) {
    for (const panel of JSON.parse(String(dashboard.attributes.panelsJSON)) as Json[]) {
      const attributes = (panel.embeddableConfig as Json).attributes as Json;
      const state = attributes.state as Json;
      const layers = ((state.datasourceStates as Json).formBased as Json).layers as Record<string, Json>;
      const [layerId, layer] = Object.entries(layers)[0] ?? [];
      if (!layerId || !layer) throw new Error(`${String(panel.title)}: no layer`);
      const ref = dashboard.references.find(
        (r) => r.name === `${String(panel.panelIndex)}:indexpattern-datasource-layer-${layerId}`,
      );
      const view = views.get(ref?.id ?? "");
      if (!view) throw new Error(`${String(panel.title)}: no data view`);
      const columns = layer.columns as Record<string, Json>;
      const order = layer.columnOrder as string[];
      const parts = new Set(
        Object.values(columns).flatMap((c) =>
          c.operationType === "formula" || c.operationType === "math"
            ? ((c.references as string[]) ?? [])
            : [],
        ),
      );
      const buckets: Bucket[] = [];
      const metrics: Metric[] = [];
      for (const id of order) {
        const c = columns[id] as Json;
        const params = (c.params ?? {}) as Json;
        const field = c.sourceField as string | undefined;
        if (c.isBucketed) {
          const op = c.operationType === "range" ? "histogram" : (c.operationType as Bucket["op"]);
          const orderBy =
            (params.orderBy as Json | undefined)?.type === "column"
              ? String((params.orderBy as Json).columnId)
              : undefined;
          buckets.push({
            id,
            op,
            field: String(field),
            ...(params.size ? { size: Number(params.size) } : {}),
            ...(orderBy ? { orderBy } : {}),
          });
          continue;
        }
        if (parts.has(id) || c.operationType === "math") continue;
        const label = String(c.label);
        const filter = (c.filter as Json | undefined)?.query as string | undefined;
        if (c.operationType === "formula") {
          const m = /^(1 - )?sum\(([\w.]+)\) \/ sum\(([\w.]+)\)$/.exec(String(params.formula));
          if (!m) throw new Error(`${label}: formula ${String(params.formula)} is not a ratio of sums`);
          metrics.push({
            id,
            label,
            op: "formula",
            ratio: { numerator: m[2] ?? "", denominator: m[3] ?? "", complement: Boolean(m[1]) },
          });
        } else
          metrics.push({
            id,
            label,
            op: c.operationType as Metric["op"],
            ...(field && field !== "___records___" ? { field } : {}),
            ...(filter ? { filter } : {}),
          });
      }
      out.push({
        dashboard: dashboard.id,
        title: String(panel.title),
        index: String(view.title),
        timeField: String(view.timeFieldName),
        kql: String((state.query as Json).query ?? ""),
        buckets,
        metrics,
      });
    }
  }
  return out;
}

// ---- KQL: the subset the dashboards use (`field : "value"`, `field > n`, `and`) ----------------

interface Clause {
  field: string;
  op: ":" | ">" | ">=" | "<" | "<=";
  value: string | number;
}

export function parseKql(kql: string): Clause[] {
  if (kql.trim() === "") return [];
  return kql.split(/\s+and\s+/).map((part) => {
    const m = /^\s*([\w.@]+)\s*(:|>=|<=|>|<)\s*(?:"([^"]*)"|(-?[\d.]+))\s*$/.exec(part);
    if (!m) throw new Error(`KQL "${part}" is outside the subset this test translates`);
    return { field: m[1] ?? "", op: m[2] as Clause["op"], value: m[3] !== undefined ? m[3] : Number(m[4]) };
  });
}

export function kqlToEs(kql: string): Query[] {
  return parseKql(kql).map((c) =>
    c.op === ":"
      ? { term: { [c.field]: c.value } }
      : { range: { [c.field]: { [{ ">": "gt", ">=": "gte", "<": "lt", "<=": "lte" }[c.op]]: c.value } } },
  );
}

function matches(doc: Doc, kql: string): boolean {
  return parseKql(kql).every((c) => {
    const v = doc[c.field];
    if (c.op === ":") return v === c.value;
    const n = Number(v);
    return c.op === ">"
      ? n > Number(c.value)
      : c.op === ">="
        ? n >= Number(c.value)
        : c.op === "<"
          ? n < Number(c.value)
          : n <= Number(c.value);
  });
}

// ---- the Elasticsearch request and its answer as a table ---------------------------------------

function metricAggs(m: Metric): Record<string, unknown> {
  const inner = (): Record<string, unknown> => {
    switch (m.op) {
      case "sum":
        return { [m.id]: { sum: { field: m.field } } };
      case "average":
        return { [m.id]: { avg: { field: m.field } } };
      case "max":
        return { [m.id]: { max: { field: m.field } } };
      case "min":
        return { [m.id]: { min: { field: m.field } } };
      case "unique_count":
        return { [m.id]: { cardinality: { field: m.field } } };
      case "count":
        return {};
      case "formula":
        return {
          [`${m.id}_n`]: { sum: { field: m.ratio?.numerator } },
          [`${m.id}_d`]: { sum: { field: m.ratio?.denominator } },
        };
    }
  };
  if (m.filter) return { [`${m.id}_f`]: { filter: { bool: { filter: kqlToEs(m.filter) } }, aggs: inner() } };
  return inner();
}

/** The search body of a panel. */
export function esRequest(p: PanelSpec): Record<string, unknown> {
  const leaf = Object.assign({}, ...p.metrics.map(metricAggs)) as Record<string, unknown>;
  let aggs = leaf;
  for (const b of [...p.buckets].reverse()) {
    const order = b.orderBy ? p.metrics.find((m) => m.id === b.orderBy) : undefined;
    const agg =
      b.op === "terms"
        ? {
            terms: {
              field: b.field,
              size: b.size ?? 10,
              order: order
                ? order.op === "count" && !order.filter
                  ? [{ _count: "desc" }, { _key: "asc" }]
                  : [{ [order.filter ? `${order.id}_f>${order.id}` : order.id]: "desc" }, { _key: "asc" }]
                : [{ _key: "asc" }],
            },
          }
        : b.op === "date_histogram"
          ? { date_histogram: { field: b.field, fixed_interval: "1d", time_zone: "UTC", min_doc_count: 1 } }
          : { histogram: { field: b.field, interval: HISTOGRAM_INTERVAL, min_doc_count: 1 } };
    aggs = { [b.id]: { ...agg, aggs } };
  }
  return {
    size: 0,
    track_total_hits: true,
    query: {
      bool: { filter: [...kqlToEs(p.kql), { range: { [p.timeField]: { gte: "now-10y", lte: "now" } } }] },
    },
    aggs,
  };
}

export interface TableRow {
  keys: Array<string | number>;
  values: Record<string, number | null>;
}

function metricValue(m: Metric, node: Json): number | null {
  const at = m.filter ? (node[`${m.id}_f`] as Json) : node;
  if (m.op === "count") return Number(at.doc_count ?? 0);
  if (m.op === "formula") {
    const n = Number((at[`${m.id}_n`] as Json)?.value ?? 0);
    const d = Number((at[`${m.id}_d`] as Json)?.value ?? 0);
    if (d === 0) return null;
    return m.ratio?.complement ? 1 - n / d : n / d;
  }
  const v = (at[m.id] as Json)?.value;
  return v === null || v === undefined ? null : Number(v);
}

/** The answer as rows: one per leaf bucket (one row without buckets). */
export function esRows(p: PanelSpec, aggregations: Json, total: number): TableRow[] {
  const walk = (node: Json, level: number, keys: Array<string | number>): TableRow[] => {
    const b = p.buckets[level];
    if (!b) {
      const withCount = { doc_count: node.doc_count ?? total, ...node };
      return [{ keys, values: Object.fromEntries(p.metrics.map((m) => [m.id, metricValue(m, withCount)])) }];
    }
    return ((node[b.id] as Json).buckets as Json[]).flatMap((child) =>
      walk(child, level + 1, [...keys, child.key as string | number]),
    );
  };
  return walk({ ...aggregations, doc_count: total }, 0, []);
}

/** The same table over `docs` (an independent computation), in plain TypeScript. */
export function evaluate(p: PanelSpec, docs: readonly Doc[]): TableRow[] {
  const value = (m: Metric, group: readonly Doc[]): number | null => {
    const of = m.filter ? group.filter((d) => matches(d, m.filter ?? "")) : group;
    const nums = (f: string | undefined) =>
      of.map((d) => d[f ?? ""]).filter((v) => typeof v === "number") as number[];
    switch (m.op) {
      case "count":
        return of.length;
      case "sum":
        return nums(m.field).reduce((a, b) => a + b, 0);
      case "average": {
        const xs = nums(m.field);
        return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
      }
      case "max":
        return nums(m.field).length === 0 ? null : Math.max(...nums(m.field));
      case "min":
        return nums(m.field).length === 0 ? null : Math.min(...nums(m.field));
      case "unique_count":
        return new Set(of.map((d) => d[m.field ?? ""]).filter((v) => v !== undefined && v !== null)).size;
      case "formula": {
        const n = nums(m.ratio?.numerator).reduce((a, b) => a + b, 0);
        const d = nums(m.ratio?.denominator).reduce((a, b) => a + b, 0);
        if (d === 0) return null;
        return m.ratio?.complement ? 1 - n / d : n / d;
      }
    }
  };
  const keyOf = (b: Bucket, d: Doc): string | number | undefined => {
    const v = d[b.field];
    if (v === undefined || v === null) return undefined;
    if (b.op === "date_histogram") return Math.floor(Number(v) / DATE_INTERVAL_MS) * DATE_INTERVAL_MS;
    if (b.op === "histogram") return Math.floor(Number(v) / HISTOGRAM_INTERVAL) * HISTOGRAM_INTERVAL;
    return v as string | number;
  };
  const walk = (group: readonly Doc[], level: number, keys: Array<string | number>): TableRow[] => {
    const b = p.buckets[level];
    if (!b) return [{ keys, values: Object.fromEntries(p.metrics.map((m) => [m.id, value(m, group)])) }];
    const groups = new Map<string | number, Doc[]>();
    for (const d of group) {
      const k = keyOf(b, d);
      if (k === undefined) continue;
      groups.set(k, [...(groups.get(k) ?? []), d]);
    }
    let entries = [...groups];
    const order = b.orderBy ? p.metrics.find((m) => m.id === b.orderBy) : undefined;
    const cmpKey = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0);
    if (b.op === "terms") {
      entries.sort(([ka, a], [kb, c]) =>
        order
          ? (value(order, c) ?? -Infinity) - (value(order, a) ?? -Infinity) || cmpKey(ka, kb)
          : cmpKey(ka, kb),
      );
      entries = entries.slice(0, b.size ?? 10);
    } else entries.sort(([ka], [kb]) => cmpKey(ka, kb));
    return entries.flatMap(([k, members]) => walk(members, level + 1, [...keys, k]));
  };
  return walk(
    docs.filter((d) => matches(d, p.kql)),
    0,
    [],
  );
}
