/**
 * One key style for everything capline prints for scripts (docs/decisions.md, "Outputs for
 * scripts"): snake_case. Stages keep their own camelCase TypeScript types; the conversion happens
 * once, at each command's output boundary (`output()` in core/cli, the monitor's writers), and the
 * result is typed: `SnakeKeys<IngestSummary>` is the shape of `ingest --json`.
 *
 * Only keys that are identifiers are renamed (`runId` → `run_id`, `mbPerSecond` →
 * `mb_per_second`). Keys that are data — topic, index, file or customer names, which contain
 * dots, dashes, slashes or digits first, or are already snake_case or UPPER_CASE — are left alone,
 * and so is everything under a property named in `dataKeys`.
 */

/** `runId` → `run_id` at the type level. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? Head extends Lowercase<Head>
    ? `${Head}${SnakeCase<Tail>}`
    : `_${Lowercase<Head>}${SnakeCase<Tail>}`
  : S;

/** The shape of `value` once its keys are snake_case. */
export type SnakeKeys<T> = T extends readonly (infer U)[]
  ? SnakeKeys<U>[]
  : T extends Date
    ? string
    : T extends object
      ? { [K in keyof T as K extends string ? SnakeCase<K> : K]: SnakeKeys<T[K]> }
      : T;

/** A camelCase identifier: lowercase start, letters and digits, at least one capital. */
const CAMEL = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/;

export function snakeCase(key: string): string {
  if (!CAMEL.test(key)) return key;
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A deep copy of `value` with snake_case keys. `dataKeys`: properties (named as printed, in
 * snake_case) whose own keys are data and must stay as they are, e.g. `documents` keyed by alias.
 */
export function snakeKeys<T>(value: T, dataKeys: readonly string[] = []): SnakeKeys<T> {
  const keep = new Set(dataKeys);
  const walk = (v: unknown, verbatim: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (v === null || typeof v !== "object" || v instanceof Date) return v;
    if (typeof (v as { toJSON?: unknown }).toJSON === "function")
      return walk(JSON.parse(JSON.stringify(v)), verbatim);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const key = verbatim ? k : snakeCase(k);
      out[key] = walk(x, !verbatim && keep.has(key));
    }
    return out;
  };
  return walk(value, false) as SnakeKeys<T>;
}

/** Keys of a JSON value that are not snake_case identifiers (for tests): their paths. */
export function camelKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((x, i) => camelKeys(x, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, x]) => [
    ...(CAMEL.test(k) ? [`${path}.${k}`] : []),
    ...camelKeys(x, `${path}.${k}`),
  ]);
}
