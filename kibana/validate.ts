import { INDEX_NAMES, type IndexName } from "../core/schema/indices.ts";
import { dataViewFields, isNumeric, lensKind } from "./data-views.ts";
import { RECORDS_FIELD } from "./lens.ts";
import {
  compareVersions,
  LENS_BY_VALUE_MIGRATIONS,
  SEMVER,
  TYPE_MIGRATION_VERSIONS,
} from "./saved-objects.ts";

/**
 * Offline checks of a Kibana saved-objects NDJSON file against the 8.x export format and against
 * capline's Elasticsearch mappings (core/schema/indices.ts): what Kibana would refuse at import,
 * and what would import fine but break a panel when opened (a misspelled field, a sum over a
 * keyword, a layer pointing at no data view).
 */

export interface ObjectRef {
  type: string;
  id: string;
  title: string;
}

export interface Problem {
  /** The saved object at fault; absent for file-level problems (bad JSON line). */
  object?: ObjectRef;
  /** Where inside the object: `panel "Revenue" › column "Revenue"`. */
  path?: string;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  objects: number;
  counts: Record<string, number>;
  problems: Problem[];
}

export interface ValidateOptions {
  /** Kibana version the objects must import into (objects stamped newer are refused by Kibana). */
  kibanaVersion: string;
}

const SUPPORTED_TYPES = ["index-pattern", "dashboard"] as const;
const VISUALIZATION_TYPES = ["lnsXY", "lnsMetric", "lnsPie", "lnsDatatable", "lnsHeatmap"] as const;
const GRID_COLUMNS = 48;

type Fields = Map<string, string>;

interface RawObject {
  line: number;
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
  raw: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Describes an object for messages: `dashboard "capline-sales" (capline · Sales and revenue)`. */
export function describeObject(ref: ObjectRef): string {
  return ref.title ? `${ref.type} "${ref.id}" (${ref.title})` : `${ref.type} "${ref.id}"`;
}

export function formatProblem(p: Problem): string {
  const where = [p.object ? describeObject(p.object) : undefined, p.path].filter(Boolean).join(" › ");
  return where ? `${where}: ${p.message}` : p.message;
}

/** Field names a KQL query compares (`a : "x" and b > 0` → a, b), ignoring quoted values. */
export function kqlFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const out: string[] = [];
  for (const m of unquoted.matchAll(/(?:^|[\s(])([A-Za-z_@][\w.@-]*)\s*(?::|<=|>=|<|>)/g)) {
    if (m[1]) out.push(m[1]);
  }
  return out;
}

/** Which field types an operation accepts (Lens' rules, narrowed to capline's field types). */
function opAccepts(op: string, type: string): boolean {
  switch (op) {
    case "sum":
    case "average":
    case "median":
    case "standard_deviation":
    case "percentile":
    case "percentile_rank":
    case "range":
      return isNumeric(type);
    case "min":
    case "max":
      return isNumeric(type) || type === "date";
    case "date_histogram":
      return type === "date";
    case "terms":
      return type === "keyword" || isNumeric(type) || type === "boolean" || type === "ip";
    case "unique_count":
      return type === "keyword" || isNumeric(type) || type === "date" || type === "ip" || type === "boolean";
    case "count":
    case "last_value":
      return type !== "object" && type !== "text";
    default:
      return false;
  }
}

const FIELD_OPS = new Set([
  "sum",
  "average",
  "median",
  "standard_deviation",
  "percentile",
  "percentile_rank",
  "range",
  "min",
  "max",
  "date_histogram",
  "terms",
  "unique_count",
  "count",
  "last_value",
]);
const FIELDLESS_OPS = new Set([
  "formula",
  "math",
  "cumulative_sum",
  "differences",
  "moving_average",
  "counter_rate",
]);

function expectedFor(op: string): string {
  switch (op) {
    case "date_histogram":
      return "a date field";
    case "terms":
      return "a keyword, numeric, boolean or ip field";
    case "min":
    case "max":
      return "a numeric or date field";
    case "unique_count":
      return "a keyword, numeric, date, ip or boolean field";
    case "count":
    case "last_value":
      return "a value field (not an object)";
    default:
      return "a numeric field";
  }
}

/** Resolves a data view's title to the capline index it reads: `capline-sales-daily` → sales-daily. */
export function indexOfTitle(title: string): IndexName | undefined {
  // Longest names first, so `x-sales-daily` is not taken for a prefix `x-sales` + `daily`.
  const names = [...INDEX_NAMES].sort((a, b) => b.length - a.length);
  return names.find((n) => title.endsWith(`-${n}`) && title.length > n.length + 1);
}

export function validateNdjson(text: string, options: ValidateOptions): ValidationReport {
  const problems: Problem[] = [];
  const objects: RawObject[] = [];
  const lines = text.split(/\r?\n/);
  let summary: { line: number; exportedCount: unknown } | undefined;

  lines.forEach((lineText, index) => {
    const line = index + 1;
    if (lineText.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(lineText);
    } catch (error) {
      problems.push({ message: `line ${line}: not valid JSON (${(error as Error).message})` });
      return;
    }
    if (!isObject(parsed)) {
      problems.push({
        message: `line ${line}: expected a JSON object, got ${JSON.stringify(parsed).slice(0, 40)}`,
      });
      return;
    }
    if (summary) {
      problems.push({
        message: `line ${line}: an object follows the export summary line (line ${summary.line})`,
      });
    }
    if (!("type" in parsed) && "exportedCount" in parsed) {
      summary = { line, exportedCount: parsed.exportedCount };
      return;
    }
    const type = str(parsed.type);
    const id = str(parsed.id);
    const title = isObject(parsed.attributes) ? (str(parsed.attributes.title) ?? "") : "";
    const ref: ObjectRef = { type: type ?? "?", id: id ?? "?", title };
    const before = problems.length;
    if (!type) problems.push({ object: ref, message: `line ${line}: "type" is missing or not a string` });
    if (!id) problems.push({ object: ref, message: `line ${line}: "id" is missing or not a string` });
    if (!isObject(parsed.attributes))
      problems.push({ object: ref, message: `line ${line}: "attributes" is missing or not an object` });
    const references = parsed.references;
    if (
      !Array.isArray(references) ||
      !references.every((r) => isObject(r) && str(r.name) && str(r.type) && str(r.id))
    ) {
      problems.push({
        object: ref,
        message: `line ${line}: "references" must be an array of {name, type, id} strings`,
      });
    }
    if (problems.length > before || !type || !id) return;
    objects.push({
      line,
      type,
      id,
      attributes: parsed.attributes as Record<string, unknown>,
      references: references as RawObject["references"],
      raw: parsed,
    });
  });

  if (summary && summary.exportedCount !== objects.length) {
    problems.push({
      message: `line ${summary.line}: the export summary says exportedCount ${String(summary.exportedCount)}, but the file holds ${objects.length} objects`,
    });
  }
  if (objects.length === 0 && problems.length === 0)
    problems.push({ message: "the file holds no saved object" });

  const refOf = (o: RawObject): ObjectRef => ({
    type: o.type,
    id: o.id,
    title: str(o.attributes.title) ?? "",
  });
  const byKey = new Map<string, RawObject>();
  for (const o of objects) {
    const key = `${o.type}/${o.id}`;
    const first = byKey.get(key);
    if (first) {
      problems.push({
        object: refOf(o),
        message: `duplicate id: line ${o.line} repeats the ${o.type} "${o.id}" of line ${first.line}`,
      });
    } else byKey.set(key, o);
  }

  // Data views first: dashboards are checked against their fields.
  const viewFields = new Map<string, Fields>();
  for (const o of objects) {
    if (o.type === "index-pattern") {
      const fields = checkDataView(o, refOf(o), problems);
      if (fields) viewFields.set(o.id, fields);
    }
  }

  for (const o of objects) {
    const ref = refOf(o);
    checkEnvelope(o, ref, options, problems);
    const names = new Set<string>();
    for (const r of o.references) {
      if (names.has(r.name))
        problems.push({ object: ref, message: `reference name "${r.name}" appears twice` });
      names.add(r.name);
      if (!byKey.has(`${r.type}/${r.id}`)) {
        problems.push({
          object: ref,
          message: `reference "${r.name}" points to ${r.type} "${r.id}", which is not in the file`,
        });
      }
    }
    if (o.type === "dashboard") checkDashboard(o, ref, viewFields, byKey, problems);
    else if (!(SUPPORTED_TYPES as readonly string[]).includes(o.type)) {
      problems.push({
        object: ref,
        message: `type "${o.type}" is not one capline ships or checks (${SUPPORTED_TYPES.join(", ")})`,
      });
    }
  }

  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.type] = (counts[o.type] ?? 0) + 1;
  return { ok: problems.length === 0, objects: objects.length, counts, problems };
}

function checkEnvelope(o: RawObject, ref: ObjectRef, options: ValidateOptions, problems: Problem[]): void {
  const core = str(o.raw.coreMigrationVersion);
  if (!core || !SEMVER.test(core)) {
    problems.push({ object: ref, message: `coreMigrationVersion must be a version such as "8.8.0"` });
  } else if (compareVersions(core, options.kibanaVersion) > 0) {
    problems.push({
      object: ref,
      message: `coreMigrationVersion ${core} is newer than Kibana ${options.kibanaVersion}, which would refuse it`,
    });
  }
  const legacy = isObject(o.raw.migrationVersion) ? str(o.raw.migrationVersion[o.type]) : undefined;
  const typeVersion = str(o.raw.typeMigrationVersion) ?? legacy;
  if (!typeVersion || !SEMVER.test(typeVersion)) {
    problems.push({
      object: ref,
      message: `typeMigrationVersion (or migrationVersion.${o.type}) must be a version such as "8.0.0"`,
    });
    return;
  }
  const highest = TYPE_MIGRATION_VERSIONS[o.type];
  if (highest && compareVersions(typeVersion, highest) > 0) {
    problems.push({
      object: ref,
      message: `typeMigrationVersion ${typeVersion} is newer than ${highest}, the highest capline vouches for on ${o.type} objects`,
    });
  }
  // Kibana's rule (make_lens_embeddable_factory.ts): every Lens by-value migration newer than the
  // dashboard's stamp runs on each of its panels at import; capline's panels are written in the
  // newest shape, so none may run.
  if (o.type === "dashboard") {
    const pending = LENS_BY_VALUE_MIGRATIONS.filter((v) => compareVersions(v, typeVersion) > 0);
    if (pending.length > 0)
      problems.push({
        object: ref,
        message: `typeMigrationVersion ${typeVersion}: Kibana would run the Lens panel migration(s) ${pending.join(", ")} on every panel at import (8.9.0 adds compact: true to formatted metrics, so tiles show "1.2M"); stamp it ${LENS_BY_VALUE_MIGRATIONS[LENS_BY_VALUE_MIGRATIONS.length - 1]} or later`,
      });
  }
}

function parseJsonAttribute(
  o: RawObject,
  ref: ObjectRef,
  name: string,
  problems: Problem[],
  required: boolean,
): unknown {
  const value = o.attributes[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string") {
    problems.push({ object: ref, message: `attributes.${name} must be a JSON string, as Kibana stores it` });
    return undefined;
  }
  try {
    return JSON.parse(value);
  } catch (error) {
    problems.push({
      object: ref,
      message: `attributes.${name} is not valid JSON (${(error as Error).message})`,
    });
    return undefined;
  }
}

/** Checks a data view and returns its fields (its mapping), or undefined when unusable. */
function checkDataView(o: RawObject, ref: ObjectRef, problems: Problem[]): Fields | undefined {
  const title = str(o.attributes.title);
  if (!title) {
    problems.push({ object: ref, message: "attributes.title (the index pattern) is missing" });
    return undefined;
  }
  const index = indexOfTitle(title);
  if (!index) {
    problems.push({
      object: ref,
      message: `title "${title}" is not a capline alias (<prefix>-${INDEX_NAMES.join("|")}); its fields cannot be checked`,
    });
    return undefined;
  }
  // Runtime fields run a script per document at query time: refused, since the local
  // Elasticsearch cannot run scripts (docs/kibana.md); index the field instead.
  const runtimeMap = parseJsonAttribute(o, ref, "runtimeFieldMap", problems, false);
  if (runtimeMap !== undefined && !isObject(runtimeMap))
    problems.push({ object: ref, message: "attributes.runtimeFieldMap must hold a JSON object" });
  else if (isObject(runtimeMap))
    for (const name of Object.keys(runtimeMap))
      problems.push({
        object: ref,
        path: `runtime field "${name}"`,
        message:
          "capline's data views have no runtime fields (a script per document; the local Elasticsearch has no scripting): index the field in core/schema/indices.ts instead",
      });
  const fields: Fields = dataViewFields({ index });

  const timeField = o.attributes.timeFieldName;
  if (timeField !== undefined) {
    const type = typeof timeField === "string" ? fields.get(timeField) : undefined;
    if (typeof timeField !== "string" || type === undefined) {
      problems.push({
        object: ref,
        message: `time field ${JSON.stringify(timeField)} is not a field of ${index}`,
      });
    } else if (type !== "date") {
      problems.push({ object: ref, message: `time field "${timeField}" is ${type}, not a date` });
    }
  }

  const formats = parseJsonAttribute(o, ref, "fieldFormatMap", problems, false);
  if (formats !== undefined) {
    if (!isObject(formats))
      problems.push({ object: ref, message: "attributes.fieldFormatMap must hold a JSON object" });
    else {
      for (const field of Object.keys(formats)) {
        if (!fields.has(field))
          problems.push({
            object: ref,
            message: `field format for "${field}", which is not a field of ${index}`,
          });
      }
    }
  }
  return fields;
}

interface PanelContext {
  ref: ObjectRef;
  path: string;
  problems: Problem[];
}

function checkDashboard(
  o: RawObject,
  ref: ObjectRef,
  viewFields: Map<string, Fields>,
  byKey: Map<string, RawObject>,
  problems: Problem[],
): void {
  if (!str(o.attributes.title)) problems.push({ object: ref, message: "attributes.title is missing" });
  parseJsonAttribute(o, ref, "optionsJSON", problems, false);
  const meta = o.attributes.kibanaSavedObjectMeta;
  if (meta !== undefined) {
    if (!isObject(meta) || typeof meta.searchSourceJSON !== "string") {
      problems.push({ object: ref, message: "kibanaSavedObjectMeta.searchSourceJSON must be a JSON string" });
    } else {
      try {
        JSON.parse(meta.searchSourceJSON);
      } catch (error) {
        problems.push({
          object: ref,
          message: `kibanaSavedObjectMeta.searchSourceJSON: ${(error as Error).message}`,
        });
      }
    }
  }
  const panels = parseJsonAttribute(o, ref, "panelsJSON", problems, true);
  if (panels === undefined) return;
  if (!Array.isArray(panels)) {
    problems.push({ object: ref, message: "attributes.panelsJSON must hold a JSON array of panels" });
    return;
  }
  const refsByName = new Map(o.references.map((r) => [r.name, r]));
  const panelIndexes = new Set<string>();
  panels.forEach((panel: unknown, n) => {
    const title = isObject(panel) ? str(panel.title) : undefined;
    const ctx: PanelContext = { ref, path: `panel ${n + 1}${title ? ` "${title}"` : ""}`, problems };
    const fail = (message: string, path = ctx.path): void => {
      problems.push({ object: ref, path, message });
    };
    if (!isObject(panel)) {
      fail("is not an object");
      return;
    }
    const panelIndex = str(panel.panelIndex);
    if (!panelIndex) {
      fail("panelIndex is missing");
      return;
    }
    if (panelIndexes.has(panelIndex)) fail(`panelIndex "${panelIndex}" is used by two panels`);
    panelIndexes.add(panelIndex);
    const grid = panel.gridData;
    if (!isObject(grid) || !["x", "y", "w", "h"].every((k) => typeof grid[k] === "number")) {
      fail("gridData needs numeric x, y, w and h");
    } else {
      const { x, w, h } = grid as { x: number; w: number; h: number };
      if (grid.i !== panelIndex)
        fail(`gridData.i "${String(grid.i)}" differs from panelIndex "${panelIndex}"`);
      if (x < 0 || w <= 0 || h <= 0 || x + w > GRID_COLUMNS)
        fail(`gridData places the panel outside the ${GRID_COLUMNS}-column grid (x ${x}, w ${w})`);
    }
    if (panel.type !== "lens") {
      fail(`panel type ${JSON.stringify(panel.type)}: capline checks Lens panels only`);
      return;
    }
    const config = panel.embeddableConfig;
    if (typeof panel.panelRefName === "string") {
      const name = `${panelIndex}:${panel.panelRefName}`;
      const target = refsByName.get(name);
      if (!target) fail(`panelRefName "${panel.panelRefName}" has no reference "${name}"`);
      else if (!byKey.has(`${target.type}/${target.id}`))
        fail(`refers to ${target.type} "${target.id}", not in the file`);
      return;
    }
    if (!isObject(config) || !isObject(config.attributes)) {
      fail("a by-value Lens panel needs embeddableConfig.attributes");
      return;
    }
    checkLens(config.attributes, panelIndex, refsByName, byKey, viewFields, ctx);
  });

  // Panel-scoped references (`<panelIndex>:...`) of panels that no longer exist.
  for (const r of o.references) {
    const scope = r.name.includes(":") ? r.name.slice(0, r.name.indexOf(":")) : undefined;
    if (scope !== undefined && !panelIndexes.has(scope))
      problems.push({ object: ref, message: `reference "${r.name}" belongs to no panel of this dashboard` });
  }
}

function accessorsOf(
  type: string,
  viz: Record<string, unknown>,
): { layerId: unknown; accessors: unknown[] }[] {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
  const layers = Array.isArray(viz.layers) ? viz.layers.filter(isObject) : [];
  switch (type) {
    case "lnsXY":
      return layers
        .filter((l) => l.layerType === undefined || l.layerType === "data")
        .map((l) => ({
          layerId: l.layerId,
          accessors: [...list(l.accessors), ...list(l.xAccessor), ...list(l.splitAccessor)],
        }));
    case "lnsPie":
      return layers.map((l) => ({
        layerId: l.layerId,
        accessors: [
          ...list(l.primaryGroups),
          ...list(l.secondaryGroups),
          ...list(l.metrics),
          ...list(l.metric),
        ],
      }));
    case "lnsMetric":
      return [
        {
          layerId: viz.layerId,
          accessors: [
            ...list(viz.metricAccessor),
            ...list(viz.secondaryMetricAccessor),
            ...list(viz.maxAccessor),
            ...list(viz.breakdownByAccessor),
          ],
        },
      ];
    case "lnsDatatable":
      return [
        {
          layerId: viz.layerId,
          accessors: list(viz.columns).map((c) => (isObject(c) ? c.columnId : c)),
        },
      ];
    case "lnsHeatmap":
      return [
        {
          layerId: viz.layerId,
          accessors: [...list(viz.xAccessor), ...list(viz.yAccessor), ...list(viz.valueAccessor)],
        },
      ];
    default:
      return [];
  }
}

function checkKql(query: unknown, fields: Fields | undefined, where: string, ctx: PanelContext): void {
  if (query === undefined) return;
  if (!isObject(query) || typeof query.query !== "string") {
    ctx.problems.push({ object: ctx.ref, path: where, message: "query must be {query, language}" });
    return;
  }
  if (query.language !== "kuery" && query.language !== "lucene") {
    ctx.problems.push({
      object: ctx.ref,
      path: where,
      message: `query language ${JSON.stringify(query.language)}`,
    });
  }
  if (!fields) return;
  for (const field of kqlFields(query.query)) {
    if (!fields.has(field))
      ctx.problems.push({
        object: ctx.ref,
        path: where,
        message: `query "${query.query}" uses field "${field}", which is not in the data view's mappings`,
      });
  }
}

function checkLens(
  attributes: Record<string, unknown>,
  panelIndex: string,
  refsByName: Map<string, { name: string; type: string; id: string }>,
  byKey: Map<string, RawObject>,
  viewFields: Map<string, Fields>,
  ctx: PanelContext,
): void {
  const fail = (message: string, path = ctx.path): void => {
    ctx.problems.push({ object: ctx.ref, path, message });
  };
  const vizType = str(attributes.visualizationType);
  if (!vizType || !(VISUALIZATION_TYPES as readonly string[]).includes(vizType)) {
    fail(
      `visualizationType ${JSON.stringify(attributes.visualizationType)} is not one of ${VISUALIZATION_TYPES.join(", ")}`,
    );
  }
  const state = attributes.state;
  if (!isObject(state)) {
    fail("attributes.state is missing");
    return;
  }
  const ds = isObject(state.datasourceStates) ? state.datasourceStates : undefined;
  const formBased = ds && isObject(ds.formBased) ? ds.formBased : undefined;
  const layers = formBased && isObject(formBased.layers) ? formBased.layers : undefined;
  if (!layers || Object.keys(layers).length === 0) {
    fail("state.datasourceStates.formBased.layers is missing or empty");
    return;
  }
  const innerRefs = Array.isArray(attributes.references) ? attributes.references.filter(isObject) : [];

  const layerFields = new Map<string, Fields | undefined>();
  for (const [layerId, layer] of Object.entries(layers)) {
    const layerPath = `${ctx.path} › layer ${layerId}`;
    const name = `indexpattern-datasource-layer-${layerId}`;
    const outer = refsByName.get(`${panelIndex}:${name}`);
    const inner = innerRefs.find((r) => r.name === name);
    const target = outer ?? (inner ? { type: str(inner.type) ?? "", id: str(inner.id) ?? "" } : undefined);
    let fields: Fields | undefined;
    if (!target) {
      fail(`no data view reference "${panelIndex}:${name}" in the dashboard's references`, layerPath);
    } else if (target.type !== "index-pattern") {
      fail(`data view reference has type "${target.type}", expected index-pattern`, layerPath);
    } else if (!byKey.has(`index-pattern/${target.id}`)) {
      fail(`refers to data view "${target.id}", which is not in the file`, layerPath);
    } else {
      fields = viewFields.get(target.id);
      if (outer && inner && str(inner.id) !== outer.id)
        fail(
          `panel references data view "${String(inner.id)}" but the dashboard says "${outer.id}"`,
          layerPath,
        );
    }
    layerFields.set(layerId, fields);
    if (!isObject(layer) || !isObject(layer.columns) || !Array.isArray(layer.columnOrder)) {
      fail("needs columns and columnOrder", layerPath);
      continue;
    }
    const columns = layer.columns;
    for (const id of layer.columnOrder) {
      if (typeof id !== "string" || !(id in columns))
        fail(`columnOrder names ${JSON.stringify(id)}, not a column`, layerPath);
    }
    for (const id of Object.keys(columns)) {
      if (!layer.columnOrder.includes(id)) fail(`column ${id} is missing from columnOrder`, layerPath);
    }
    for (const [columnId, column] of Object.entries(columns)) {
      const label = isObject(column) ? str(column.label) : undefined;
      checkColumn(columnId, column, columns, fields, {
        ...ctx,
        path: `${ctx.path} › column "${label ?? columnId}"`,
      });
    }
  }

  const fieldsOfAll = layerFields.size === 1 ? [...layerFields.values()][0] : undefined;
  checkKql(state.query, fieldsOfAll, `${ctx.path} › query`, ctx);

  if (vizType && isObject(state.visualization)) {
    const groups = accessorsOf(vizType, state.visualization);
    if (groups.length === 0) fail("the visualization has no data layer");
    for (const g of groups) {
      const layer = typeof g.layerId === "string" ? layers[g.layerId] : undefined;
      if (!isObject(layer) || !isObject(layer.columns)) {
        fail(`visualization layer ${JSON.stringify(g.layerId)} is not a datasource layer`);
        continue;
      }
      const columns = layer.columns;
      for (const a of g.accessors) {
        if (typeof a !== "string" || !(a in columns))
          fail(`visualization shows column ${JSON.stringify(a)}, which the layer lacks`);
      }
    }
  } else if (vizType) fail("state.visualization is missing");
}

/**
 * Column formats as Lens writes them (Kibana 8.x source): a range column in histogram mode is
 * numeric (`dataType` number, `scale` interval) with no `parentFormat`; in range mode it is a
 * string column whose `parentFormat` is the range formatter (ranges/ranges.tsx, buildColumn and
 * onChangeMode). A terms column's `parentFormat` is `{id: "terms"}` (the 8.1.0 migration,
 * fixLensTopValuesCustomFormatting). A column `format` is one Lens supports (format_column/
 * supported_formats.ts: number, percent, bytes, bits, duration, custom).
 */
function checkColumnFormat(
  op: string,
  column: Record<string, unknown>,
  params: Record<string, unknown>,
  fail: (message: string) => void,
): void {
  const parent = isObject(params.parentFormat) ? params.parentFormat : undefined;
  if (op === "range") {
    const mode = params.type ?? "histogram";
    if (mode === "histogram") {
      if (parent)
        fail(
          `a histogram (range column in histogram mode) has parentFormat ${JSON.stringify(parent)}: Lens sets it only in range mode, and with it every bucket label goes through the range formatter`,
        );
      if (column.dataType !== "number" || column.scale !== "interval")
        fail("a histogram column is dataType number, scale interval");
    } else if (mode === "range") {
      if (parent?.id !== "range") fail('a range column in range mode has parentFormat {id: "range", ...}');
      if (column.dataType !== "string" || column.scale !== "ordinal")
        fail("a range column in range mode is dataType string, scale ordinal");
    } else fail(`range column type ${JSON.stringify(mode)} is neither histogram nor range`);
  }
  if (op === "terms" && parent && parent.id !== "terms")
    fail(`a terms column's parentFormat is {id: "terms"}, not ${JSON.stringify(parent)}`);
  const format = isObject(params.format) ? params.format : undefined;
  if (format && !["number", "percent", "bytes", "bits", "duration", "custom"].includes(String(format.id)))
    fail(
      `format id ${JSON.stringify(format.id)} is not one Lens supports (number, percent, bytes, bits, duration, custom)`,
    );
}

function checkColumn(
  columnId: string,
  column: unknown,
  columns: Record<string, unknown>,
  fields: Fields | undefined,
  ctx: PanelContext,
): void {
  const fail = (message: string): void => {
    ctx.problems.push({ object: ctx.ref, path: ctx.path, message });
  };
  if (!isObject(column)) {
    fail("is not an object");
    return;
  }
  const op = str(column.operationType);
  if (!op || (!FIELD_OPS.has(op) && !FIELDLESS_OPS.has(op))) {
    fail(`operationType ${JSON.stringify(op)} is unknown`);
    return;
  }
  if (typeof column.isBucketed !== "boolean") fail("isBucketed must be true or false");

  for (const r of Array.isArray(column.references) ? column.references : []) {
    if (typeof r !== "string" || !(r in columns) || r === columnId)
      fail(`references column ${JSON.stringify(r)}, which the layer lacks`);
  }
  const params = isObject(column.params) ? column.params : {};
  if (op === "terms" && isObject(params.orderBy) && params.orderBy.type === "column") {
    const by = params.orderBy.columnId;
    if (typeof by !== "string" || !(by in columns))
      fail(`orders by column ${JSON.stringify(by)}, which the layer lacks`);
  }
  checkKql(column.filter, fields, ctx.path, ctx);
  checkColumnFormat(op, column, params, fail);

  if (!FIELD_OPS.has(op)) return;
  const field = str(column.sourceField);
  if (op === "count" && (field === undefined || field === RECORDS_FIELD)) return;
  if (!field) {
    fail(`${op} needs a sourceField`);
    return;
  }
  if (!fields) return; // the layer's data view is already reported
  const type = fields.get(field);
  if (type === undefined) {
    fail(`field "${field}" does not exist in the data view's mapping`);
    return;
  }
  if (!opAccepts(op, type)) {
    fail(`${op} over field "${field}" (${type}) — ${op} needs ${expectedFor(op)}`);
    return;
  }
  if (op === "terms" && typeof column.dataType === "string" && column.dataType !== lensKind(type)) {
    fail(`dataType "${column.dataType}" does not match field "${field}" (${type} → ${lensKind(type)})`);
  }
}
