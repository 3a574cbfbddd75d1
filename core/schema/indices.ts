/**
 * Elasticsearch indices of capline (DESIGN.md, "Elasticsearch"). Explicit mappings, `dynamic:
 * strict`: a field nobody declared is an error, never a guess. Kibana objects, setup, processing
 * and the reports all read field names and types from here.
 *
 * The local stack runs Elasticsearch's minimal distribution, so mappings use only field types of
 * the server core (no scaled_float, no painless at index time); the same mappings run unchanged on
 * the full distribution that Docker Compose starts.
 */

import { REJECT_REASONS } from "./reasons.ts";

export type FieldType = "keyword" | "date" | "long" | "integer" | "short" | "double" | "boolean" | "object";

export interface FieldMapping {
  type: FieldType;
  /** For `object`: `false` keeps the value in _source only (internal bookkeeping). */
  enabled?: boolean;
  properties?: Record<string, FieldMapping>;
  format?: string;
  ignore_above?: number;
}

export interface IndexDefinition {
  /** The alias every reader and writer uses, without the configured prefix: `profiles`. */
  name: IndexName;
  description: string;
  /** The time field Kibana data views and reports filter on. */
  timeField: string;
  properties: Record<string, FieldMapping>;
}

export const INDEX_NAMES = ["profiles", "sales-daily", "sales-hourly", "ops"] as const;
export type IndexName = (typeof INDEX_NAMES)[number];

/** Sales aggregate dimensions; `all` has the single key `all`. */
export const DIMENSIONS = ["all", "category", "brand", "product"] as const;
export type Dimension = (typeof DIMENSIONS)[number];

const keyword: FieldMapping = { type: "keyword", ignore_above: 1024 };
const date: FieldMapping = { type: "date", format: "strict_date_optional_time||epoch_millis" };
const long: FieldMapping = { type: "long" };
const integer: FieldMapping = { type: "integer" };
const short: FieldMapping = { type: "short" };
const double: FieldMapping = { type: "double" };
/** Processing bookkeeping (offset watermarks, session ids...): stored, never indexed. */
const internal: FieldMapping = { type: "object", enabled: false };

const salesProperties: Record<string, FieldMapping> = {
  bucket: date,
  dimension: keyword,
  key: keyword,
  views: long,
  carts: long,
  removes: long,
  purchases: long,
  revenue: double,
  updated_at: date,
  state: internal,
};

/**
 * Index contract v2 (docs/decisions.md): the calendar position of the UTC bucket, indexed, so the
 * hour × weekday views are plain terms aggregations (no script: the local Elasticsearch has no
 * Painless). `sales-hourly` holds the dimensions all | category | brand only; product documents are
 * daily and keep their 24 hourly counts in `state.hours`.
 */
export const SALES_V2_FIELDS = {
  // brand and category: of product documents (a product's aggregate names what it is).
  "sales-daily": { day_of_week: short, brand: keyword, category: keyword },
  "sales-hourly": { hour_of_day: short, day_of_week: short },
} as const satisfies Partial<Record<IndexName, Record<string, FieldMapping>>>;

/**
 * Index contract v2 of the profiles: the category codes and brands a customer bought at least once
 * (sorted sets; a purchase without one adds `unknown`, as the aggregates file it), so targeting
 * ("bought X") is a term query. Merged as set unions, idempotent under the watermarks.
 */
export const PROFILE_V2_FIELDS = {
  purchased_categories: keyword,
  purchased_brands: keyword,
} as const satisfies Record<string, FieldMapping>;

/**
 * Fields of the ops index's `kind: "forget"` audit records (`capline forget`, docs/forget.md): who
 * asked and how many customers, documents, files, rows and DLQ records were erased (never an id). Added fields
 * only, so `capline setup` adds them to an existing ops index in place.
 */
export const OPS_FORGET_FIELDS = {
  actor: keyword,
  customers: long,
  profiles: long,
  documents: long,
  files: long,
  dlq_records: long,
} as const satisfies Record<string, FieldMapping>;

/** The dimensions each sales index holds. */
export const SALES_DIMENSIONS = {
  "sales-daily": DIMENSIONS,
  "sales-hourly": ["all", "category", "brand"],
} as const satisfies Record<"sales-daily" | "sales-hourly", readonly Dimension[]>;

export const INDEX_DEFINITIONS: Record<IndexName, IndexDefinition> = {
  profiles: {
    name: "profiles",
    description: "one document per customer, _id = user_id",
    timeField: "last_seen",
    properties: {
      user_id: keyword,
      first_seen: date,
      last_seen: date,
      views: long,
      carts: long,
      removes: long,
      purchases: long,
      total_spent: double,
      avg_order_value: double,
      sessions: long,
      last_purchase_at: date,
      top_category: keyword,
      top_brand: keyword,
      conversion_rate: double,
      /** Monday of each ISO week with activity (UTC): cohort retention. */
      active_weeks: date,
      active_week_count: integer,
      /** Monday of the week of first_seen. */
      cohort_week: date,
      recency_days: integer,
      frequency: long,
      monetary: double,
      r: short,
      f: short,
      m: short,
      rfm_score: keyword,
      segment: keyword,
      ...PROFILE_V2_FIELDS,
      updated_at: date,
      state: internal,
    },
  },
  "sales-daily": {
    name: "sales-daily",
    description:
      "one document per (UTC day, dimension, key); product documents keep their hours in state.hours",
    timeField: "bucket",
    properties: { ...salesProperties, ...SALES_V2_FIELDS["sales-daily"] },
  },
  "sales-hourly": {
    name: "sales-hourly",
    description: "one document per (UTC hour, dimension, key), dimension all | category | brand",
    timeField: "bucket",
    properties: { ...salesProperties, ...SALES_V2_FIELDS["sales-hourly"] },
  },
  ops: {
    name: "ops",
    description: "one document per ingest run and per processing batch (pipeline operations dashboard)",
    timeField: "@timestamp",
    properties: {
      "@timestamp": date,
      kind: keyword,
      run_id: keyword,
      file: keyword,
      topic: keyword,
      status: keyword,
      rows: long,
      sent: long,
      rejected: long,
      duplicates: long,
      rejected_by_reason: {
        type: "object",
        properties: Object.fromEntries(REJECT_REASONS.map((reason) => [reason, long])),
      },
      events: long,
      partition: integer,
      first_offset: long,
      last_offset: long,
      sink: keyword,
      dlq: long,
      seconds: double,
      events_per_second: double,
      ...OPS_FORGET_FIELDS,
    },
  },
};

/**
 * Fields an existing index may lack because they came after it was created, by mapping path:
 * `capline setup` adds them to the index (and template) in place, since adding a field is what a
 * mapping update allows (docs/decisions.md, "Index contract, version 2"). Every other difference
 * is reported, never changed. The ops index's counters follow the list of reasons, so a reason
 * added to core/schema/reasons.ts becomes a field setup adds, without anyone listing it here.
 */
export function addableFields(name: IndexName): ReadonlySet<string> {
  switch (name) {
    case "profiles":
      return new Set(Object.keys(PROFILE_V2_FIELDS));
    case "sales-daily":
    case "sales-hourly":
      return new Set(Object.keys(SALES_V2_FIELDS[name]));
    case "ops":
      return new Set([
        ...REJECT_REASONS.map((reason) => `rejected_by_reason.${reason}`),
        ...Object.keys(OPS_FORGET_FIELDS),
      ]);
  }
}

/** Bump when a mapping changes incompatibly: the concrete indices are `<alias>-v<version>` (core/names.ts). */
export const MAPPING_VERSION = 1;

/** The mapping as sent to Elasticsearch. */
export function mappingFor(name: IndexName): { dynamic: "strict"; properties: Record<string, FieldMapping> } {
  return { dynamic: "strict", properties: INDEX_DEFINITIONS[name].properties };
}

/** Flattened field paths and their types, e.g. `rejected_by_reason.bad_price` → long. */
export function fieldTypes(name: IndexName): Map<string, FieldType> {
  const out = new Map<string, FieldType>();
  const walk = (props: Record<string, FieldMapping>, prefix: string) => {
    for (const [field, mapping] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${field}` : field;
      out.set(path, mapping.type);
      if (mapping.properties) walk(mapping.properties, path);
    }
  };
  walk(INDEX_DEFINITIONS[name].properties, "");
  return out;
}
