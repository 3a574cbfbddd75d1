import { aliasName } from "../core/names.ts";
import { type FieldType, fieldTypes, type IndexName } from "../core/schema/indices.ts";
import type { FieldKind } from "./lens.ts";
import { CORE_MIGRATION_VERSION, type SavedObject, TYPE_MIGRATION_VERSIONS } from "./saved-objects.ts";

/**
 * Kibana data views over capline's aliases. Each is typed against the index definition it reads,
 * so a time field is checked against the mappings when generated. No data view has runtime fields:
 * they run a script in Elasticsearch for every document, and the local Elasticsearch has no
 * scripting module; what a panel needs is indexed instead (`hour_of_day`, `day_of_week` of the
 * sales aggregates, index contract v2).
 */

export interface DataViewDef {
  /** Saved-object id, also what dashboards reference. */
  id: string;
  index: IndexName;
  /** Name shown in Kibana's data view picker. */
  name: string;
  timeField: string;
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
  const salesFormats = { revenue: money };
  // day_of_week is 1 = Monday … 7 = Sunday (index contract v2): shown by name, sorted by number.
  const weekday = {
    id: "static_lookup",
    params: {
      lookupEntries: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((value, i) => ({
        key: String(i + 1),
        value,
      })),
      unknownKeyValue: null,
    },
  };
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
      formats: { ...salesFormats, day_of_week: weekday },
    },
    { id: ids.ops, index: "ops", name: "capline pipeline operations", timeField: "@timestamp" },
  ];
}

/** The saved object, with the JSON-in-a-string attributes Kibana stores. */
export function dataViewObject(prefix: string, def: DataViewDef): SavedObject {
  return {
    attributes: {
      allowNoIndex: true,
      fieldAttrs: "{}",
      fieldFormatMap: JSON.stringify(def.formats ?? {}),
      fields: "[]",
      name: def.name,
      runtimeFieldMap: "{}",
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

/** The fields of a data view (its index's mapping): field → Elasticsearch type. */
export function dataViewFields(def: Pick<DataViewDef, "index">): Map<string, FieldType> {
  return new Map(fieldTypes(def.index));
}

/** The Lens data type of a field (what a terms column reports). */
export function lensKind(type: string | undefined): FieldKind {
  if (type === undefined) return "string";
  if (isNumeric(type)) return "number";
  if (type === "date") return "date";
  if (type === "boolean") return "boolean";
  return "string";
}
