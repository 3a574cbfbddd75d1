import { type Client, errors as esErrors } from "@elastic/elasticsearch";
import { CaplineError, describeError, ServiceUnavailableError } from "../core/errors.ts";
import { aliasName } from "../core/names.ts";
import { UNKNOWN_KEY } from "../core/schema/events.ts";
import type { IndexName } from "../core/schema/indices.ts";
import { dayAligned, type ReportParams } from "./options.ts";

/**
 * The reports' only door to Elasticsearch: size-0 aggregation searches (plus one sorted top-N
 * search for `customers`), each timed, with the client's failures turned into capline errors —
 * unreachable → ServiceUnavailableError naming the URL (exit 4), missing index → NoDataError
 * (exit 6), anything else → SERVICE_ERROR (exit 1).
 */

export class NoDataError extends CaplineError {
  constructor(detail: string) {
    super("NO_DATA", `no data yet — run ingest and process (${detail})`, { retryable: true });
    this.name = "NoDataError";
  }
}

// The body of an Elasticsearch answer is read loosely; every report checks the shapes it uses.
// biome-ignore lint/suspicious/noExplicitAny: aggregation results are dynamic JSON by nature
export type Json = any;
export type Query = Record<string, unknown>;

function isNetwork(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 6; depth++) {
    if (
      current instanceof esErrors.ConnectionError ||
      current instanceof esErrors.TimeoutError ||
      current instanceof esErrors.NoLivingConnectionsError
    )
      return true;
    const code = (current as NodeJS.ErrnoException).code;
    if (
      typeof code === "string" &&
      /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)$/.test(code)
    )
      return true;
    current = current.cause;
  }
  return false;
}

export class ReportSource {
  queries = 0;
  esMs = 0;

  constructor(
    private readonly es: Client,
    readonly prefix: string,
    readonly url: string,
  ) {}

  alias(name: IndexName): string {
    return aliasName(this.prefix, name);
  }

  /** A search on one of capline's aliases; `body` is the request body (aggs, query, size...). */
  async search(index: IndexName, body: Record<string, unknown>, what: string): Promise<Json> {
    const started = performance.now();
    this.queries++;
    try {
      return await this.es.search({ index: this.alias(index), ...body } as never);
    } catch (error) {
      throw this.translate(error, index, what);
    } finally {
      this.esMs += performance.now() - started;
    }
  }

  async count(index: IndexName, query: Query | undefined, what: string): Promise<number> {
    const started = performance.now();
    this.queries++;
    try {
      const answer = await this.es.count({ index: this.alias(index), ...(query ? { query } : {}) } as never);
      return Number((answer as Json).count ?? 0);
    } catch (error) {
      throw this.translate(error, index, what);
    } finally {
      this.esMs += performance.now() - started;
    }
  }

  /**
   * Every document matching `query`, in `sort` order, page by page: a point in time (one consistent
   * view of the index, whatever is written meanwhile) walked with `search_after`, so there is no
   * 10,000-hit window and memory is one page. `sort` must end with a unique field (a tiebreaker).
   */
  async *scan(
    index: IndexName,
    body: {
      query: Query;
      sort: Array<Record<string, unknown>>;
      _source?: string[] | false;
      fields?: unknown[];
    },
    what: string,
    pageSize = 1000,
  ): AsyncGenerator<Json[]> {
    const open = async () => {
      const started = performance.now();
      this.queries++;
      try {
        return (await this.es.openPointInTime({ index: this.alias(index), keep_alive: "2m" })).id;
      } catch (error) {
        throw this.translate(error, index, what);
      } finally {
        this.esMs += performance.now() - started;
      }
    };
    let pit = await open();
    let after: unknown[] | undefined;
    try {
      for (;;) {
        const started = performance.now();
        this.queries++;
        let answer: Json;
        try {
          answer = await this.es.search({
            pit: { id: pit, keep_alive: "2m" },
            size: pageSize,
            track_total_hits: false,
            ...body,
            ...(after ? { search_after: after } : {}),
          } as never);
        } catch (error) {
          throw this.translate(error, index, what);
        } finally {
          this.esMs += performance.now() - started;
        }
        pit = answer.pit_id ?? pit;
        const hits = (answer.hits?.hits ?? []) as Json[];
        if (hits.length === 0) return;
        yield hits;
        if (hits.length < pageSize) return;
        after = hits[hits.length - 1]?.sort;
      }
    } finally {
      await this.es.closePointInTime({ id: pit }).catch(() => undefined);
    }
  }

  private translate(error: unknown, index: IndexName, what: string): CaplineError {
    if (isNetwork(error))
      return new ServiceUnavailableError("Elasticsearch", this.url, `${what}: ${describeError(error)}`, {
        cause: error,
      });
    if (error instanceof esErrors.ResponseError) {
      const body = error.meta.body as { error?: { type?: string; reason?: string } } | undefined;
      if (error.meta.statusCode === 404 && body?.error?.type === "index_not_found_exception")
        return new NoDataError(`index ${this.alias(index)} does not exist; run capline setup first`);
      return new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch (${this.url}) refused to ${what}: ${body?.error?.type ?? ""}: ${body?.error?.reason ?? error.message}`,
        {
          cause: error,
          retryable: (error.meta.statusCode ?? 0) >= 500,
          details: { service: "Elasticsearch", url: this.url, status: error.meta.statusCode },
        },
      );
    }
    return new CaplineError(
      "SERVICE_ERROR",
      `Elasticsearch (${this.url}): ${what}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }

  /** Refuses to report on empty indices: one count per index, before any report runs. */
  async ensureData(): Promise<void> {
    const sales = await this.count(
      "sales-daily",
      { term: { dimension: "all" } },
      "count the sales aggregates",
    );
    const profiles = await this.count("profiles", undefined, "count the profiles");
    if (sales === 0 && profiles === 0)
      throw new NoDataError(`${this.alias("sales-daily")} and ${this.alias("profiles")} are empty`);
  }
}

// ---- query builders -------------------------------------------------------------------------

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function timeRange(field: string, p: Pick<ReportParams, "from" | "to">): Query[] {
  if (p.from === undefined && p.to === undefined) return [];
  const range: Record<string, string> = {};
  if (p.from !== undefined) range.gte = iso(p.from);
  if (p.to !== undefined) range.lt = iso(p.to);
  return [{ range: { [field]: range } }];
}

/**
 * Which sales index answers the dimensions all | category | brand: daily when the bounds are whole
 * UTC days, else hourly. Products are daily only (index contract v2): analytics/product-range.ts.
 */
export function salesIndex(p: ReportParams, needHourly = false): "sales-daily" | "sales-hourly" {
  return needHourly || !dayAligned(p) ? "sales-hourly" : "sales-daily";
}

/**
 * The sales documents of one dimension in the range: `all` unless --category/--brand narrows it
 * (the aggregates are per category or per brand, never per pair, so only one can apply).
 */
export function salesQuery(p: ReportParams, dimension?: "category" | "brand" | "product"): Query {
  const filter: Query[] = [...timeRange("bucket", p)];
  if (dimension) filter.push({ term: { dimension } });
  else if (p.category !== undefined)
    filter.push({ term: { dimension: "category" } }, { term: { key: p.category } });
  else if (p.brand !== undefined) filter.push({ term: { dimension: "brand" } }, { term: { key: p.brand } });
  else filter.push({ term: { dimension: "all" } });
  return { bool: { filter } };
}

/**
 * Customers of the range and filter: profiles whose activity span [first_seen, last_seen]
 * overlaps [from, to), narrowed by top_category / top_brand (`unknown`: profiles without one).
 */
export function profileQuery(p: ReportParams, mode: "overlap" | "first_seen" = "overlap"): Query {
  const filter: Query[] = [];
  if (mode === "first_seen") filter.push(...timeRange("first_seen", p));
  else {
    if (p.to !== undefined) filter.push({ range: { first_seen: { lt: iso(p.to) } } });
    if (p.from !== undefined) filter.push({ range: { last_seen: { gte: iso(p.from) } } });
  }
  const mustNot: Query[] = [];
  // "unknown" is how the aggregates file a missing category/brand; a profile has none as its top
  // when none of its events had one.
  for (const [field, value] of [
    ["top_category", p.category],
    ["top_brand", p.brand],
  ] as const) {
    if (value === undefined) continue;
    if (value === UNKNOWN_KEY) mustNot.push({ exists: { field } });
    else filter.push({ term: { [field]: value } });
  }
  return { bool: { filter, ...(mustNot.length > 0 ? { must_not: mustNot } : {}) } };
}

export const SALES_SUMS = {
  views: { sum: { field: "views" } },
  carts: { sum: { field: "carts" } },
  removes: { sum: { field: "removes" } },
  purchases: { sum: { field: "purchases" } },
  revenue: { sum: { field: "revenue" } },
} as const;

export interface SalesSums {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
}

/** Reads SALES_SUMS sub-aggregations of a bucket; revenue back to whole cents. */
export function readSums(bucket: Json): SalesSums {
  const n = (name: string) => Number(bucket?.[name]?.value ?? 0);
  return {
    views: n("views"),
    carts: n("carts"),
    removes: n("removes"),
    purchases: n("purchases"),
    revenue: Math.round(n("revenue") * 100) / 100,
  };
}
