import type { CheckOutcome } from "../types.ts";
import { type CheckContext, httpGet, reasonOf } from "./context.ts";

interface KibanaStatus {
  version?: { number?: string };
  status?: { overall?: { level?: string; summary?: string } };
}

/**
 * Kibana only reads what the pipeline wrote, so it is never critical. With MONITOR_KIBANA=optional
 * (the default) nothing listening at KIBANA_URL means "not deployed here" (SKIP, e.g. the local
 * stack); a Kibana that answers badly or hangs is a WARN. With `required` (Compose, where Kibana is
 * part of the deployment) any failure is DOWN.
 */
export async function checkKibana(ctx: CheckContext): Promise<CheckOutcome> {
  const required = ctx.options.kibana === "required";
  const bad = required ? "DOWN" : "WARN";
  const { url, username, password } = ctx.config.kibana;
  const headers: Record<string, string> = {};
  if (username && password)
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  let answer: Awaited<ReturnType<typeof httpGet>>;
  try {
    answer = await httpGet(`${url.replace(/\/$/, "")}/api/status`, ctx, headers);
  } catch (error) {
    const reason = reasonOf(error, ctx.options.timeoutMs);
    if (!required && (reason === "connection refused" || reason === "host not found"))
      return {
        status: "SKIP",
        reason: `not deployed: ${reason} at KIBANA_URL (MONITOR_KIBANA=required makes this DOWN)`,
      };
    throw error;
  }
  if (answer.status === 401 || answer.status === 403)
    return { status: bad, reason: `HTTP ${answer.status}: check KIBANA_USERNAME / KIBANA_PASSWORD` };
  let body: KibanaStatus;
  try {
    body = JSON.parse(answer.text) as KibanaStatus;
  } catch {
    return { status: bad, reason: `/api/status answered HTTP ${answer.status} without JSON` };
  }
  const level = body.status?.overall?.level ?? "unknown";
  const version = body.version?.number ?? "?";
  const summary = body.status?.overall?.summary;
  const reason = `${level}, Kibana ${version}${summary ? `: ${summary}` : ""}`;
  const details = { level, version };
  if (level === "available") return { status: "OK", reason, details };
  if (level === "degraded") return { status: "WARN", reason, details };
  return { status: bad, reason, details };
}
