import { aliasName } from "../core/names.ts";
import { type FieldType, fieldTypes, type IndexName } from "../core/schema/indices.ts";
import type { FieldKind } from "./lens.ts";
import { CORE_MIGRATION_VERSION, type SavedObject, TYPE_MIGRATION_VERSIONS } from "./saved-objects.ts";

/**
 * Kibana data views over capline's aliases. Each is typed against the index definition it reads,
 * so a time field or a runtime field's source is checked against the mappings when generated.
 */

/** Field types a data-view runtime field may have (Kibana 8.x runtime field types, scalar ones). */
export const RUNTIME_FIELD_TYPES = ["keyword", "long", "double", "date", "boolean", "ip"] as const;
export type RuntimeFieldType = (typeof RUNTIME_FIELD_TYPES)[number];

export interface RuntimeField {
  type: RuntimeFieldType;
  /** Painless; fields it reads are written `doc['field']`, which the validator checks. */
  script: string;
}

export interface DataViewDef {
  /** Saved-object id, also what dashboards reference. */
  id: string;
  index: IndexName;
  /** Name shown in Kibana's data view picker. */
  name: string;
  timeField: string;
  runtimeFields?: Record<string, RuntimeField>;
  /** Field formatters, as Kibana stores them in fieldFormatMap. */
  formats?: Record<string, { id: string; params?: Record<string, unknown> }>;
}

const money = { id: "number", params: { pattern: "0,0.00" } };
const percent = { id: "percent", params: { pattern: "0.0%" } };

/** Data view ids by role; the alias prefix is part of every id, so two prefixes never collide. */
export function dataViewIds(prefix: string) {
  return {
    profiles: `${prefix}-profiles`,
    profilesFirstSeen: `${prefix}-profiles-first-seen`,
    salesDaily: `${prefix}-sales-daily`,
    salesHourly: `${prefix}-sales-hourly`,
    ops: `${prefix}-ops`,
  } as const;
}

export function dataViewDefs(prefix: string): DataViewDef[] {
  const ids = dataViewIds(prefix);
  // Hour and weekday of the (UTC) bucket, for the hour × weekday heatmap. Computed at query time
  // from `bucket`, so the index needs no extra field. The weekday carries its number so that
  // sorting the labels alphabetically gives Monday..Sunday.
  const guard = "if (doc['bucket'].size() == 0) { return; }";
  const hourly: Record<string, RuntimeField> = {
    hour_of_day: { type: "long", script: `${guard} emit(doc['bucket'].value.getHour());` },
    day_of_week: {
      type: "keyword",
      script:
        `${guard} String[] days = new String[] {'1 Mon', '2 Tue', '3 Wed', '4 Thu', '5 Fri', '6 Sat', '7 Sun'}; ` +
        "emit(days[doc['bucket'].value.getDayOfWeekEnum().getValue() - 1]);",
    },
  };
  const salesFormats = { revenue: money };
  return [
    {
      id: ids.profiles,
      index: "profiles",
      name: "capline profiles (time: last seen)",
      timeField: "last_seen",
      formats: { total_spent: money, avg_order_value: money, monetary: money, conversion_rate: percent },
    },
    {
      id: ids.profilesFirstSeen,
      index: "profiles",
      name: "capline profiles (time: first seen)",
      timeField: "first_seen",
      formats: { total_spent: money, avg_order_value: money, monetary: money, conversion_rate: percent },
    },
    {
      id: ids.salesDaily,
      index: "sales-daily",
      name: "capline sales per day",
      timeField: "bucket",
      formats: salesFormats,
    },
    {
      id: ids.salesHourly,
      index: "sales-hourly",
      name: "capline sales per hour",
      timeField: "bucket",
      runtimeFields: hourly,
      formats: salesFormats,
    },
    { id: ids.ops, index: "ops", name: "capline pipeline operations", timeField: "@timestamp" },
  ];
}

/** The saved object, with the JSON-in-a-string attributes Kibana stores. */
export function dataViewObject(prefix: string, def: DataViewDef): SavedObject {
  const runtimeFieldMap: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(def.runtimeFields ?? {})) {
    runtimeFieldMap[name] = { type: field.type, script: { source: field.script } };
  }
  return {
    attributes: {
      allowNoIndex: true,
      fieldAttrs: "{}",
      fieldFormatMap: JSON.stringify(def.formats ?? {}),
      fields: "[]",
      name: def.name,
      runtimeFieldMap: JSON.stringify(runtimeFieldMap),
      sourceFilters: "[]",
      timeFieldName: def.timeField,
      title: aliasName(prefix, def.index),
      typeMeta: "{}",
    },
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    id: def.id,
    managed: false,
    references: [],
    type: "index-pattern",
    typeMigrationVersion: TYPE_MIGRATION_VERSIONS["index-pattern"] ?? "8.0.0",
  };
}

const NUMERIC: ReadonlySet<string> = new Set([
  "long",
  "integer",
  "short",
  "byte",
  "double",
  "float",
  "half_float",
  "scaled_float",
  "unsigned_long",
]);

export function isNumeric(type: string): boolean {
  return NUMERIC.has(type);
}

/** Mapping fields plus runtime fields of a data view: field → Elasticsearch type. */
export function dataViewFields(def: DataViewDef): Map<string, FieldType | RuntimeFieldType> {
  const fields = new Map<string, FieldType | RuntimeFieldType>(fieldTypes(def.index));
  for (const [name, field] of Object.entries(def.runtimeFields ?? {})) fields.set(name, field.type);
  return fields;
}

/** The Lens data type of a field (what a terms column reports). */
export function lensKind(type: string | undefined): FieldKind {
  if (type === undefined) return "string";
  if (isNumeric(type)) return "number";
  if (type === "date") return "date";
  if (type === "boolean") return "boolean";
  return "string";
}
