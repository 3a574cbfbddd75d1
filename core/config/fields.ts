import type { ConfigProblem } from "../errors.ts";

/**
 * Parsers for configuration values. Each returns the parsed value or a problem phrased for the
 * user: what is wrong and what is expected, so the loader can name the variable.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string; expected: string };

export type FieldParser<T> = (raw: string) => Parsed<T>;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string, expected: string): Parsed<T> => ({ ok: false, problem, expected });

export const text =
  (options: { pattern?: RegExp; expected?: string } = {}): FieldParser<string> =>
  (raw) =>
    options.pattern && !options.pattern.test(raw)
      ? bad(`"${raw}" is not allowed`, options.expected ?? `a value matching ${options.pattern}`)
      : ok(raw);

export const integer =
  (min: number, max: number, example: number): FieldParser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim()))
      return bad(`"${raw}" is not a whole number`, `an integer from ${min} to ${max} (e.g. ${example})`);
    const value = Number(raw);
    if (value < min || value > max)
      return bad(`${value} is out of range`, `an integer from ${min} to ${max} (e.g. ${example})`);
    return ok(value);
  };

export const boolean: FieldParser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return ok(true);
  if (["0", "false", "no", "off"].includes(v)) return ok(false);
  return bad(`"${raw}" is not a boolean`, "true or false");
};

export const oneOf =
  <T extends string>(values: readonly T[]): FieldParser<T> =>
  (raw) =>
    (values as readonly string[]).includes(raw)
      ? ok(raw as T)
      : bad(`"${raw}" is not one of the allowed values`, values.join(" | "));

export const httpUrl =
  (example: string): FieldParser<string> =>
  (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return bad(`"${raw}" is not a URL`, `an http(s) URL such as ${example}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return bad(
        `"${raw}" uses ${url.protocol} instead of http or https`,
        `an http(s) URL such as ${example}`,
      );
    if (url.username || url.password)
      return bad("the URL carries credentials", "credentials in their own variables, never inside the URL");
    return ok(raw.replace(/\/+$/, ""));
  };

export const redisUrl: FieldParser<string> = (raw) => {
  try {
    const url = new URL(raw);
    if (url.protocol === "redis:" || url.protocol === "rediss:") return ok(raw);
  } catch {
    // fall through to the message below
  }
  return bad(`"${raw}" is not a redis:// URL`, "a URL such as redis://127.0.0.1:6379");
};

export const hostPortList =
  (example: string): FieldParser<string[]> =>
  (raw) => {
    const items = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) return bad("no address given", `host:port[,host:port...] such as ${example}`);
    for (const item of items) {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(item);
      if (!m || Number(m[2]) > 65535)
        return bad(`"${item}" is not host:port`, `host:port[,host:port...] such as ${example}`);
    }
    return ok(items);
  };

export const hdfsPath: FieldParser<string> = (raw) =>
  /^\/[A-Za-z0-9._\-/]*$/.test(raw) && !raw.includes("..")
    ? ok(raw === "/" ? raw : raw.replace(/\/+$/, ""))
    : bad(`"${raw}" is not an absolute HDFS path`, "an absolute path such as /capline");

/** S3 bucket naming rules (lowercase, 3-63 chars, no underscores). */
export const bucketName: FieldParser<string> = (raw) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw) && !raw.includes("..")
    ? ok(raw)
    : bad(
        `"${raw}" is not a valid bucket name`,
        "3-63 lowercase letters, digits, dots or hyphens (e.g. capline-lake)",
      );

/** Kafka topic names: letters, digits, '.', '_', '-', at most 249 characters. */
export const topicName: FieldParser<string> = (raw) =>
  /^[A-Za-z0-9._-]{1,249}$/.test(raw) && raw !== "." && raw !== ".."
    ? ok(raw)
    : bad(
        `"${raw}" is not a valid Kafka topic name`,
        "letters, digits, '.', '_' or '-' (e.g. customer-events)",
      );

/** Elasticsearch index names and prefixes: lowercase, no spaces or reserved characters. */
export const indexPrefix: FieldParser<string> = (raw) =>
  /^[a-z0-9][a-z0-9_.-]{0,200}$/.test(raw)
    ? ok(raw)
    : bad(
        `"${raw}" is not a valid index prefix`,
        "lowercase letters, digits, '-', '_' or '.' (e.g. capline)",
      );

export function toProblem(variable: string, parsed: Parsed<unknown>): ConfigProblem | undefined {
  return parsed.ok ? undefined : { variable, problem: parsed.problem, expected: parsed.expected };
}
