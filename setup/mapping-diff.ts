/**
 * Compares the mapping capline expects with the one an existing index has, field by field, so
 * `capline setup` can say exactly what differs (path, expected vs actual) instead of failing on the
 * first write with a strict-mapping error.
 */

/** A mapping as Elasticsearch returns it (or as capline sends it). */
export interface MappingLike {
  dynamic?: string | boolean;
  properties?: Record<string, unknown>;
  [parameter: string]: unknown;
}

export type DifferenceKind = "type" | "missing" | "extra" | "parameter";

export interface MappingDifference {
  /** Field path (`rejected_by_reason.bad_price`), or `(root).dynamic` for the index-level setting. */
  path: string;
  kind: DifferenceKind;
  /** What capline expects; absent for an extra field. */
  expected?: string;
  /** What the index has; absent for a missing field. */
  actual?: string;
}

interface FlatField {
  type: string;
  /** Parameters other than `type` and `properties`, as JSON text for comparison. */
  params: Map<string, string>;
}

/** Objects with sub-fields come back from Elasticsearch without `type: object`. */
function fieldType(mapping: Record<string, unknown>): string {
  return typeof mapping.type === "string" ? mapping.type : "object";
}

/**
 * Parameters Elasticsearch leaves out of a mapping it returns when they hold the default value:
 * a mapping that spells a default out matches one that leaves it unset.
 */
const PARAMETER_DEFAULTS: Record<string, string> = {
  "date.format": JSON.stringify("strict_date_optional_time||epoch_millis"),
  "keyword.ignore_above": "2147483647",
  "object.enabled": "true",
  "*.index": "true",
  "*.doc_values": "true",
  "*.store": "false",
};

function defaultOf(type: string, key: string): string | undefined {
  return PARAMETER_DEFAULTS[`${type}.${key}`] ?? PARAMETER_DEFAULTS[`*.${key}`];
}

function flatten(properties: Record<string, unknown> | undefined): Map<string, FlatField> {
  const out = new Map<string, FlatField>();
  const walk = (props: Record<string, unknown>, prefix: string) => {
    for (const [name, raw] of Object.entries(props)) {
      if (typeof raw !== "object" || raw === null) continue;
      const mapping = raw as Record<string, unknown>;
      const path = prefix ? `${prefix}.${name}` : name;
      const params = new Map<string, string>();
      for (const [key, value] of Object.entries(mapping)) {
        if (key === "type" || key === "properties") continue;
        params.set(key, JSON.stringify(value));
      }
      out.set(path, { type: fieldType(mapping), params });
      if (typeof mapping.properties === "object" && mapping.properties !== null)
        walk(mapping.properties as Record<string, unknown>, path);
    }
  };
  if (properties) walk(properties, "");
  return out;
}

/** `dynamic` may come back as "strict", "true", true...; compare the text. */
function dynamicOf(mapping: MappingLike): string | undefined {
  return mapping.dynamic === undefined ? undefined : String(mapping.dynamic);
}

/**
 * Every difference between `expected` and `actual`: changed types, missing and extra fields,
 * changed parameters (format, ignore_above, enabled...), and the index-level `dynamic` setting.
 * Children of a field whose type differs are not listed again. Sorted by path.
 */
export function diffMappings(expected: MappingLike, actual: MappingLike): MappingDifference[] {
  const differences: MappingDifference[] = [];
  const wantDynamic = dynamicOf(expected);
  const haveDynamic = dynamicOf(actual);
  if (wantDynamic !== haveDynamic)
    differences.push({
      path: "(root).dynamic",
      kind: "parameter",
      ...(wantDynamic === undefined ? {} : { expected: wantDynamic }),
      ...(haveDynamic === undefined ? {} : { actual: haveDynamic }),
    });

  const want = flatten(expected.properties);
  const have = flatten(actual.properties);
  const typeChanged: string[] = [];
  const under = (path: string) => typeChanged.some((p) => path.startsWith(`${p}.`));

  for (const [path, field] of want) {
    if (under(path)) continue;
    const found = have.get(path);
    if (!found) {
      differences.push({ path, kind: "missing", expected: field.type });
      continue;
    }
    if (found.type !== field.type) {
      typeChanged.push(path);
      differences.push({ path, kind: "type", expected: field.type, actual: found.type });
      continue;
    }
    const keys = new Set([...field.params.keys(), ...found.params.keys()]);
    for (const key of [...keys].sort()) {
      const a = field.params.get(key) ?? defaultOf(field.type, key);
      const b = found.params.get(key) ?? defaultOf(found.type, key);
      if (a !== b)
        differences.push({
          path: `${path}.${key}`,
          kind: "parameter",
          ...(a === undefined ? {} : { expected: a }),
          ...(b === undefined ? {} : { actual: b }),
        });
    }
  }
  for (const [path, field] of have) {
    if (want.has(path) || under(path)) continue;
    // An extra parent already names its children.
    const parent = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : undefined;
    if (parent !== undefined && !want.has(parent) && have.has(parent)) continue;
    differences.push({ path, kind: "extra", actual: field.type });
  }
  // Missing children of a missing parent add nothing either.
  const missing = new Set(differences.filter((d) => d.kind === "missing").map((d) => d.path));
  return differences
    .filter((d) => {
      if (d.kind !== "missing" || !d.path.includes(".")) return true;
      return !missing.has(d.path.slice(0, d.path.lastIndexOf(".")));
    })
    .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** One line per difference, for people: `views: expected long, found keyword`. */
export function describeDifference(d: MappingDifference): string {
  switch (d.kind) {
    case "type":
      return `${d.path}: expected type ${d.expected}, found ${d.actual}`;
    case "missing":
      return `${d.path}: missing (expected ${d.expected})`;
    case "extra":
      return `${d.path}: not expected (found ${d.actual})`;
    case "parameter":
      return `${d.path}: expected ${d.expected ?? "(unset)"}, found ${d.actual ?? "(unset)"}`;
  }
}
