import { type Command, Option } from "commander";
import { action, config, ExitCode, hostFlag, positiveInt, withExamples } from "../core/cli/index.ts";
import { UsageError } from "../core/errors.ts";
import { snakeKeys } from "../core/json/index.ts";
import { type MonitorFlags, monitorOptions } from "./options.ts";
import { renderTable } from "./render.ts";
import { runChecks } from "./run.ts";
import { ENDPOINTS, MonitorServer } from "./server.ts";
import { CHECK_NAMES, MONITOR_DATA_KEYS } from "./types.ts";
import { watch } from "./watch.ts";

interface MonitorCommandOptions extends MonitorFlags {
  json?: boolean;
  watch?: number;
}

interface ServeCommandOptions extends MonitorFlags {
  port?: number;
  host?: string;
  cacheMs?: number;
}

const wholeNumber = (flag: string) => positiveInt(flag, 0);

/** Resolves on SIGINT or SIGTERM (and removes its handlers), so commands can stop cleanly. */
/**
 * Aborts on SIGINT or SIGTERM and, with `watchParent`, when the process that started this one is
 * gone: `npx capline monitor serve` runs node under npx, and stopping npx (kill, a closed terminal
 * tab) does not stop its child, which would hold the port. A reparented process (its ppid changed)
 * stops within a second.
 */
function stopSignal(watchParent = false): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const parent = process.ppid;
  const watch =
    watchParent && parent > 1
      ? setInterval(() => {
          if (process.ppid === parent) return;
          process.stderr.write(
            `capline monitor: the process that started it (pid ${parent}) has gone; stopping\n`,
          );
          stop();
        }, 1000)
      : undefined;
  return {
    signal: controller.signal,
    dispose: () => {
      if (watch) clearInterval(watch);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

function addCheckOptions(command: Command): Command {
  return command
    .option(
      "--timeout <ms>",
      "time limit of each check (MONITOR_TIMEOUT_MS, default 5000)",
      positiveInt("--timeout", 100, 600_000),
    )
    .option(
      "--skip <checks>",
      `checks to leave out, comma-separated: ${CHECK_NAMES.join(", ")} (MONITOR_SKIP)`,
    )
    .option("--only <checks>", "run only these checks, comma-separated")
    .addOption(
      new Option("--kibana <mode>", "what a missing Kibana is (MONITOR_KIBANA, default optional)").choices([
        "optional",
        "required",
        "off",
      ]),
    )
    .option(
      "--lag-warn <n>",
      "consumer lag above which to warn (MONITOR_LAG_WARN, default 10000)",
      wholeNumber("--lag-warn"),
    )
    .option(
      "--stall-seconds <s>",
      "lag without progress this long warns (MONITOR_STALL_SECONDS, default 300)",
      positiveInt("--stall-seconds", 1, 604_800),
    );
}

/** Registers `capline monitor` and `capline monitor serve`. */
export function registerMonitor(program: Command): void {
  const monitor = addCheckOptions(
    program
      .command("monitor")
      .description(
        "check every part of the pipeline now (Kafka, Elasticsearch, MinIO, HDFS, Redis, BullMQ, Kibana, " +
          "consumer lag, freshness, DLQ): a table of OK/WARN/DOWN/SKIP with the reason and the URL. " +
          "Exit 0 all OK (or skipped), 1 some WARN, 2 some DOWN (2 also for a bad flag). See docs/monitoring.md.",
      )
      .option("--json", "print the report as JSON (with --watch: one JSON line per round)")
      .option(
        "--watch <seconds>",
        "check again every SECONDS until Ctrl-C (redraws on a terminal)",
        positiveInt("--watch", 1, 86_400),
      ),
  );
  monitor.action(
    action(async (opts: MonitorCommandOptions) => {
      const c = config();
      const options = monitorOptions(c, opts);
      if (opts.watch !== undefined) {
        const stop = stopSignal();
        try {
          await watch(c, options, {
            intervalSeconds: opts.watch,
            json: opts.json === true,
            tty: process.stdout.isTTY === true,
            color: process.stdout.isTTY === true && !process.env.NO_COLOR,
            write: (text) => process.stdout.write(text),
            signal: stop.signal,
          });
        } finally {
          stop.dispose();
        }
        return ExitCode.OK;
      }
      const report = await runChecks(c, options);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(snakeKeys(report, MONITOR_DATA_KEYS), null, 2)}\n`
          : `${renderTable(report, { color: process.stdout.isTTY === true && !process.env.NO_COLOR })}\n`,
      );
      return report.exitCode;
    }),
  );
  withExamples(monitor, [
    "capline monitor                      # one round, a table; exit 0/1/2",
    "capline monitor --json | jq '.checks[] | select(.status != \"OK\")'",
    "capline monitor --watch 5            # like top; Ctrl-C to quit",
    "capline monitor --skip kibana,hdfs --timeout 2000",
    "MONITOR_LAG_WARN=1000 capline monitor --only pipeline.lag,pipeline.dlq",
  ]);

  const serve = addCheckOptions(
    monitor
      .command("serve")
      .description(
        "serve health and metrics over HTTP until stopped:\n" +
          Object.entries(ENDPOINTS)
            .map(([path, what]) => `  ${path.padEnd(9)} ${what}`)
            .join("\n"),
      )
      .option(
        "--port <port>",
        "port (MONITOR_PORT, default 9464; 0 = any free port)",
        positiveInt("--port", 0, 65_535),
      )
      .option(
        "--host <address>",
        "address to bind (MONITOR_HOST, default 127.0.0.1; 0.0.0.0 in a container)",
        hostFlag("--host"),
      )
      .option(
        "--cache-ms <ms>",
        "reuse a round of checks this long (MONITOR_CACHE_MS, default 10000)",
        positiveInt("--cache-ms", 0, 3_600_000),
      ),
  );
  serve.action(
    action(async (opts: ServeCommandOptions) => {
      const c = config();
      // Options given before `serve` belong to `monitor`; both places work.
      const merged = { ...monitor.opts<MonitorFlags>(), ...opts };
      if (merged.port !== undefined && merged.port > 65_535)
        throw new UsageError(`--port ${merged.port} is above 65535`);
      const server = new MonitorServer(c, monitorOptions(c, merged), {
        port: merged.port ?? c.monitor.port,
        host: merged.host ?? c.monitor.host,
        cacheMs: merged.cacheMs ?? c.monitor.cacheMs,
      });
      const stop = stopSignal(true);
      try {
        const url = await server.start();
        process.stderr.write(`capline monitor: serving ${Object.keys(ENDPOINTS).join(" ")} at ${url}\n`);
        await new Promise<void>((resolve) =>
          stop.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      } finally {
        stop.dispose();
        await server.close();
      }
      return ExitCode.OK;
    }),
  );
  withExamples(serve, [
    "capline monitor serve                          # http://127.0.0.1:9464",
    "capline monitor serve --host 0.0.0.0 --port 9464  # in a container",
    "curl -s 127.0.0.1:9464/readyz; curl -s 127.0.0.1:9464/metrics | grep capline_consumer_lag",
  ]);
}
