import { CaplineError, describeError, ServiceUnavailableError, UsageError } from "../core/errors.ts";

/**
 * Imports saved objects through Kibana's HTTP API, as `Stack Management › Saved objects › Import`
 * does: `POST /api/saved_objects/_import?overwrite=true`, multipart/form-data with the NDJSON in
 * a field named `file`, and the `kbn-xsrf` header Kibana demands on every write.
 */

export type KibanaAuth = { username: string; password: string } | { apiKey: string } | undefined;

export interface ImportOptions {
  /** Kibana base URL, with its basePath if any: http://127.0.0.1:5601 */
  url: string;
  /** Space id; undefined or "default" imports into the default space. */
  space?: string;
  ndjson: string;
  fileName?: string;
  auth?: KibanaAuth;
  /** How long to wait for Kibana to become ready. */
  timeoutMs: number;
  /** Pause between readiness probes. @defaultValue 2000 */
  pollMs?: number;
  /** Called while waiting, with why Kibana is not ready yet. */
  onWait?: (reason: string) => void;
  /** Called once before anything is sent, with a warning (credentials over plain http). */
  onWarning?: (message: string) => void;
}

export interface ObjectOutcome {
  type: string;
  id: string;
  title: string;
  ok: boolean;
  /** Kibana's error type (conflict, missing_references, unsupported_type, unknown...). */
  error?: string;
  message?: string;
}

export interface ImportResult {
  url: string;
  space: string;
  kibanaVersion: string | undefined;
  success: boolean;
  successCount: number;
  objects: ObjectOutcome[];
}

const SPACE_ID = /^[a-z0-9_-]+$/;

/** The URL as it may be shown: no user info. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

function authHeaders(auth: KibanaAuth): Record<string, string> {
  if (!auth) return {};
  if ("apiKey" in auth) return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
}

/** `/s/<space>` for a non-default space, as Kibana routes space-scoped APIs. */
export function spacePath(space: string | undefined): string {
  if (space === undefined || space === "" || space === "default") return "";
  if (!SPACE_ID.test(space))
    throw new UsageError(
      `--space: "${space}" is not a Kibana space id (lowercase letters, digits, '_' and '-')`,
    );
  return `/s/${space}`;
}

function baseOf(url: string): string {
  return url.replace(/\/+$/, "");
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The warning due before credentials go to `url`: plain http to a host other than this machine
 * sends the password (or API key) readable by anyone on the way. Undefined when there is none.
 */
export function plainHttpWarning(url: string, auth: KibanaAuth): string | undefined {
  if (!auth) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" || isLoopbackHost(u.hostname)) return undefined;
  return `warning: sending Kibana credentials over plain http to ${u.host}, readable on the network; use an https:// KIBANA_URL (or --url)`;
}

/** Redirects followed at most, all within Kibana's own origin. */
const MAX_REDIRECTS = 5;

/**
 * fetch without following a redirect to another origin: saved objects and credentials go only to
 * the Kibana that was configured. A redirect within the same origin (a basePath, a trailing
 * slash) is followed with the same method, headers and body; one elsewhere is refused, naming it.
 */
export async function fetchSameOrigin(url: string, init: RequestInit): Promise<Response> {
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, { ...init, redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status < 300 || res.status > 399 || location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, current);
    if (next.origin !== origin)
      throw new CaplineError(
        "SERVICE_ERROR",
        `Kibana at ${displayUrl(url)} redirected to another origin (${displayUrl(next.origin)}): refused, nothing is sent there; set KIBANA_URL (or --url) to the address Kibana answers on`,
        { details: { status: res.status, url: displayUrl(url), location: displayUrl(next.origin) } },
      );
    if (hop >= MAX_REDIRECTS)
      throw new CaplineError(
        "SERVICE_ERROR",
        `Kibana at ${displayUrl(url)} redirected more than ${MAX_REDIRECTS} times`,
      );
    current = next.toString();
  }
}

function authFailure(status: number, url: string): CaplineError {
  return new CaplineError(
    "SERVICE_ERROR",
    `Kibana at ${displayUrl(url)} answered ${status}: check KIBANA_USERNAME/KIBANA_PASSWORD (or ELASTICSEARCH_USERNAME/PASSWORD, ELASTICSEARCH_API_KEY)`,
    { details: { status, url: displayUrl(url) } },
  );
}

interface StatusBody {
  version?: { number?: string };
  status?: {
    overall?: { level?: string; state?: string; summary?: string };
    core?: { savedObjects?: { level?: string } };
  };
}

/**
 * Waits until `GET /api/status` says Kibana is available (or degraded with its saved-objects
 * service available, which is all an import needs). Returns Kibana's version.
 */
export async function waitForKibana(
  url: string,
  auth: KibanaAuth,
  timeoutMs: number,
  pollMs = 2000,
  onWait?: (reason: string) => void,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  const statusUrl = `${baseOf(url)}/api/status`;
  let reason = "no answer yet";
  for (;;) {
    try {
      const res = await fetchSameOrigin(statusUrl, {
        headers: { accept: "application/json", ...authHeaders(auth) },
        signal: AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))),
      });
      if (res.status === 401 || res.status === 403) throw authFailure(res.status, url);
      const text = await res.text();
      let body: StatusBody | undefined;
      try {
        body = JSON.parse(text) as StatusBody;
      } catch {
        body = undefined;
      }
      const overall = body?.status?.overall;
      const level = overall?.level ?? overall?.state;
      if (res.ok && (level === "available" || level === "green")) return body?.version?.number;
      if (res.ok && level === "degraded" && body?.status?.core?.savedObjects?.level === "available")
        return body?.version?.number;
      reason = level
        ? `status ${level}${overall?.summary ? ` (${overall.summary})` : ""}`
        : `HTTP ${res.status} ${text.slice(0, 80).trim()}`;
    } catch (error) {
      if (error instanceof CaplineError) throw error;
      reason = describeError(error);
    }
    if (Date.now() + pollMs > deadline) {
      throw new ServiceUnavailableError(
        "Kibana",
        displayUrl(url),
        `not ready after ${Math.round(timeoutMs / 1000)}s (${reason})`,
      );
    }
    onWait?.(reason);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

interface ImportError {
  id?: string;
  type?: string;
  title?: string;
  meta?: { title?: string };
  error?: { type?: string; message?: string; references?: { type: string; id: string }[] };
}

interface ImportBody {
  success?: boolean;
  successCount?: number;
  successResults?: { id?: string; type?: string; meta?: { title?: string } }[];
  errors?: ImportError[];
  message?: string;
}

function errorMessage(e: ImportError): string | undefined {
  const err = e.error;
  if (!err) return undefined;
  if (err.type === "missing_references" && err.references?.length)
    return `missing ${err.references.map((r) => `${r.type} "${r.id}"`).join(", ")}`;
  return err.message;
}

/** Waits for Kibana, imports the NDJSON and reports each object. Throws only when nothing was imported. */
export async function importSavedObjects(options: ImportOptions): Promise<ImportResult> {
  const space = spacePath(options.space);
  const warning = plainHttpWarning(options.url, options.auth);
  if (warning) options.onWarning?.(warning);
  const kibanaVersion = await waitForKibana(
    options.url,
    options.auth,
    options.timeoutMs,
    options.pollMs,
    options.onWait,
  );
  const endpoint = `${baseOf(options.url)}${space}/api/saved_objects/_import?overwrite=true`;
  const form = new FormData();
  form.append(
    "file",
    new Blob([options.ndjson], { type: "application/ndjson" }),
    options.fileName ?? "capline.ndjson",
  );
  let res: Response;
  try {
    res = await fetchSameOrigin(endpoint, {
      method: "POST",
      headers: { "kbn-xsrf": "true", accept: "application/json", ...authHeaders(options.auth) },
      body: form,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    if (error instanceof CaplineError) throw error;
    throw new ServiceUnavailableError("Kibana", displayUrl(options.url), describeError(error), {
      cause: error,
    });
  }
  if (res.status === 401 || res.status === 403) throw authFailure(res.status, options.url);
  const text = await res.text();
  let body: ImportBody;
  try {
    body = JSON.parse(text) as ImportBody;
  } catch {
    throw new CaplineError(
      "SERVICE_ERROR",
      `Kibana at ${displayUrl(options.url)} answered ${res.status} to the import with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (!res.ok) {
    throw new CaplineError(
      "SERVICE_ERROR",
      `Kibana at ${displayUrl(options.url)} refused the import (${res.status}): ${body.message ?? text.slice(0, 200)}`,
      { details: { status: res.status } },
    );
  }
  const objects: ObjectOutcome[] = [
    ...(body.successResults ?? []).map((r) => ({
      type: r.type ?? "?",
      id: r.id ?? "?",
      title: r.meta?.title ?? "",
      ok: true,
    })),
    ...(body.errors ?? []).map((e) => {
      const message = errorMessage(e);
      return {
        type: e.type ?? "?",
        id: e.id ?? "?",
        title: e.meta?.title ?? e.title ?? "",
        ok: false,
        error: e.error?.type ?? "unknown",
        ...(message ? { message } : {}),
      };
    }),
  ];
  return {
    url: displayUrl(options.url),
    space: options.space ?? "default",
    kibanaVersion,
    success: body.success === true && (body.errors ?? []).length === 0,
    successCount: body.successCount ?? objects.filter((o) => o.ok).length,
    objects,
  };
}
