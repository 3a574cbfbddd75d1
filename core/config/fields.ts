import type { ConfigProblem } from "../errors.ts";
import { maskUrlCredentials } from "../redact.ts";

/**
 * Parsers for configuration values. Each returns the parsed value or a problem phrased for the
 * user: what is wrong and what is expected, so the loader can name the variable.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string; expected: string };

export type FieldParser<T> = (raw: string) => Parsed<T>;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string, expected: string): Parsed<T> => ({ ok: false, problem, expected });

/**
 * A URL value as an error message may show it: whatever comes before the last `@` could be a
 * password, also in a value too malformed for `maskUrlCredentials` to recognise (`redis//:pw@h`).
 */
function shownUrl(raw: string): string {
  const masked = maskUrlCredentials(raw);
  const at = masked.lastIndexOf("@");
  return at === -1 ? masked : `***${masked.slice(at)}`;
}

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
      return bad(`"${shownUrl(raw)}" is not a URL`, `an http(s) URL such as ${example}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return bad(
        `"${shownUrl(raw)}" uses ${url.protocol} instead of http or https`,
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
  return bad(
    `"${shownUrl(raw)}" is not a redis:// URL`,
    "a URL such as redis://127.0.0.1:6379 (redis://:PASSWORD@host:6379 with a password)",
  );
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

/**
 * A decimal number (digits, optionally a dot and digits) from `min` to `max`: the ingester's price
 * bound, so its cents stay a safe integer.
 */
export const decimal =
  (min: number, max: number, example: string): FieldParser<number> =>
  (raw) => {
    const value = Number(raw.trim());
    if (!/^\d+(\.\d+)?$/.test(raw.trim()))
      return bad(`"${raw}" is not a decimal number`, `a number from ${min} to ${max} such as ${example}`);
    if (value < min || value > max)
      return bad(`${raw} is out of range`, `a number from ${min} to ${max} such as ${example}`);
    return ok(value);
  };

/** A bound of the accepted event times: a fixed UTC time, or a distance from the start of the run. */
export type TimeBound = { iso: string } | { nowPlusMs: number };

const RELATIVE = /^now([+-])(\d{1,6})([dhm])$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/**
 * `YYYY-MM-DD` (midnight UTC), an ISO-8601 time with Z or an offset, or `now+1d` / `now-2h` /
 * `now+30m` (relative to the start of each run).
 */
export const timeBound =
  (example: string): FieldParser<TimeBound> =>
  (raw) => {
    const expected = `YYYY-MM-DD, an ISO-8601 time with Z, or now+Nd / now+Nh / now-Nm (e.g. ${example})`;
    const text = raw.trim();
    const rel = RELATIVE.exec(text);
    if (rel) {
      const ms = Number(rel[2]) * UNIT_MS[rel[3] as keyof typeof UNIT_MS];
      return ok({ nowPlusMs: rel[1] === "-" ? -ms : ms });
    }
    const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(iso)
      ? Date.parse(iso)
      : Number.NaN;
    if (!Number.isFinite(ms)) return bad(`"${raw}" is not a time`, expected);
    const out = new Date(ms);
    if (out.getUTCFullYear() < 1 || out.getUTCFullYear() > 9999)
      return bad(`"${raw}" is outside years 0001-9999`, expected);
    return ok({ iso: out.toISOString() });
  };

/** A host or address to bind a server to: an IPv4 or IPv6 address, or a host name. */
export const bindHost: FieldParser<string> = (raw) =>
  /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$/.test(
    raw,
  ) &&
  (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(raw) || raw.split(".").every((n) => Number(n) <= 255))
    ? ok(raw)
    : bad(
        `"${raw}" is not an address or host name`,
        "an address such as 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or ::1",
      );

export function toProblem(variable: string, parsed: Parsed<unknown>): ConfigProblem | undefined {
  return parsed.ok ? undefined : { variable, problem: parsed.problem, expected: parsed.expected };
}
