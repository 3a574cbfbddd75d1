import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError } from "../core/errors.ts";
import { snakeKeys } from "../core/json/index.ts";
import { logger } from "../core/logging.ts";
import type { MonitorState } from "./checks/context.ts";
import { MonitorMetrics } from "./metrics.ts";
import type { MonitorOptions } from "./options.ts";
import { runChecks } from "./run.ts";
import { readiness } from "./status.ts";
import type { MonitorReport } from "./types.ts";
import { MONITOR_DATA_KEYS } from "./types.ts";

export interface ServeOptions {
  /** @defaultValue MONITOR_PORT (9464); 0 picks a free port */
  port: number;
  /** @defaultValue MONITOR_HOST (127.0.0.1) */
  host: string;
  /** A round of checks is reused this long by /readyz, /status and /metrics. @defaultValue MONITOR_CACHE_MS */
  cacheMs: number;
}

export const ENDPOINTS = {
  "/healthz": "the monitor process is alive (200, no check runs)",
  "/readyz": "200 when every critical dependency answers and is usable, 503 otherwise",
  "/status": "the JSON report of `capline monitor --json`",
  "/metrics": "Prometheus text format",
} as const;

/**
 * `capline monitor serve`: health and metrics over HTTP. Scrapes share one cached round of checks
 * (and one round in flight), so a busy Prometheus or several probes do not multiply the requests
 * the services get.
 */
export class MonitorServer {
  private readonly metrics = new MonitorMetrics();
  private readonly state: MonitorState = {};
  private readonly started = Date.now();
  private readonly log = logger("monitor");
  private server: Server | undefined;
  private cached: { report: MonitorReport; at: number } | undefined;
  private inFlight: Promise<MonitorReport> | undefined;

  constructor(
    private readonly config: Config,
    private readonly options: MonitorOptions,
    private readonly serve: ServeOptions,
  ) {}

  /** The latest round, run now if the cached one is older than cacheMs. */
  async report(): Promise<MonitorReport> {
    if (this.cached && Date.now() - this.cached.at < this.serve.cacheMs) return this.cached.report;
    this.inFlight ??= runChecks(this.config, this.options, this.state)
      .then((report) => {
        this.cached = { report, at: Date.now() };
        this.metrics.update(report);
        return report;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        this.log.error({ error: describeError(error), url: req.url }, "monitor request failed");
        if (!res.headersSent) send(res, 500, { error: describeError(error) });
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new CaplineError(
            "USAGE",
            error.code === "EADDRINUSE"
              ? `port ${this.serve.port} on ${this.serve.host} is in use: choose another with --port or MONITOR_PORT`
              : `cannot listen on ${this.serve.host}:${this.serve.port}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      server.listen(this.serve.port, this.serve.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await this.inFlight?.catch(() => undefined);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://monitor").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, { error: `${req.method} is not allowed; use GET` });
    }
    switch (path) {
      case "/healthz":
        return send(res, 200, {
          status: "alive",
          uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
        });
      case "/readyz": {
        const report = await this.report();
        const ready = readiness(report);
        return send(res, ready.ready ? 200 : 503, { ...ready, checkedAt: report.checkedAt });
      }
      case "/status":
        return send(res, 200, await this.report());
      case "/metrics": {
        await this.report();
        const text = await this.metrics.text();
        res.writeHead(200, { "content-type": this.metrics.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
        return;
      }
      case "/":
        return send(res, 200, { service: "capline monitor", endpoints: ENDPOINTS });
      default:
        return send(res, 404, { error: `no such endpoint: ${path}`, endpoints: Object.keys(ENDPOINTS) });
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(snakeKeys(body, MONITOR_DATA_KEYS), null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : text);
}
