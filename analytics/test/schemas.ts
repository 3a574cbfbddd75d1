import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import formats from "ajv-formats";
import { PROJECT_ROOT } from "../../core/config/index.ts";
import { camelKeys } from "../../core/json/index.ts";

/**
 * The JSON Schemas of the outputs scripts read (docs/schemas/), compiled once with Ajv in strict
 * mode. `problems` lists schema violations and any key that is not snake_case.
 */

export const SCHEMAS = [
  "report",
  "ingest",
  "process",
  "monitor",
  "customers-export",
  "dlq",
  "forget",
] as const;
export type SchemaName = (typeof SCHEMAS)[number];

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
// ajv-formats is CommonJS: its default export is the module object under NodeNext typing.
const addFormats = ((formats as { default?: unknown }).default ?? formats) as (a: Ajv) => Ajv;
addFormats(ajv);
const compiled = new Map<SchemaName, ValidateFunction>();

export function schemaFile(name: SchemaName): string {
  return join(PROJECT_ROOT, "docs", "schemas", `${name}.schema.json`);
}

export function problems(name: SchemaName, value: unknown, dataKeys: readonly string[] = []): string[] {
  let validate = compiled.get(name);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(schemaFile(name), "utf8")));
    compiled.set(name, validate);
  }
  const out = validate(value)
    ? []
    : (validate.errors ?? []).map(
        (e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
      );
  // Keys under properties named in dataKeys are data (alias names...), not key style.
  const keep = new RegExp(`\\.(${dataKeys.join("|") || "$^"})\\.`);
  out.push(
    ...camelKeys(value)
      .filter((path) => !keep.test(path))
      .map((path) => `${path}: not snake_case`),
  );
  return out;
}
