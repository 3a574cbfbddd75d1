import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import type { Command } from "commander";
import { action, config, ExitCode, output, withExamples } from "../core/cli/index.ts";
import {
  ensureStackUp,
  installStack,
  parseServiceName,
  SERVICE_NAMES,
  type ServiceName,
  serviceStatus,
  stackPaths,
  stopStack,
} from "./index.ts";
import { formatDuration, tail } from "./render.ts";

/** `capline stack install|up|down|status|logs`. */
export function registerStackCommands(program: Command): void {
  const stack = withExamples(
    program
      .command("stack")
      .description(
        "the local services (Kafka, Elasticsearch, MinIO, HDFS, Redis): real servers on loopback, or Compose where Docker runs",
      ),
    ["capline stack up", "capline stack status --json", "capline stack logs kafka -f", "capline stack down"],
  );

  withExamples(
    stack
      .command("install")
      .description("download and build the servers' artifacts into the cache (once; later runs do nothing)")
      .argument("[services...]", `some of: ${SERVICE_NAMES.join(", ")} (default: all)`)
      .option("--json", "print a JSON summary"),
    ["capline stack install", "capline stack install kafka hdfs"],
  ).action(
    action(async (names: string[], opts: { json?: boolean }) => {
      const services = names.length > 0 ? names.map(parseServiceName) : SERVICE_NAMES;
      const c = config();
      const started = Date.now();
      if (!opts.json) process.stderr.write(`installing into ${c.stack.cacheDir} ...\n`);
      const results = await installStack(c, services, (line) => process.stderr.write(`${line}\n`));
      output({ ok: true, cacheDir: c.stack.cacheDir, results, ms: Date.now() - started }, opts.json, () =>
        [
          ...results.map(
            (r) =>
              `${r.service.padEnd(14)} ${r.installed ? `installed in ${formatDuration(r.ms)}` : "already installed"}`,
          ),
          `done in ${formatDuration(Date.now() - started)}`,
        ].join("\n"),
      );
      return ExitCode.OK;
    }),
  );

  withExamples(
    stack
      .command("up")
      .description(
        "make every service answer: reuse what already answers, else docker compose (if Docker runs), else start local processes",
      )
      .argument("[services...]", `some of: ${SERVICE_NAMES.join(", ")} (default: all)`)
      .option("--no-docker", "never use Docker Compose, even where a Docker engine runs")
      .option("--json", "print a JSON summary on stdout")
      .addHelpText(
        "after",
        "\nExit codes: 0 all services answer; 1 a service failed to start (named, with its log's tail); 2 bad argument.",
      ),
    ["capline stack up", "capline stack up redis minio", "capline stack up --json"],
  ).action(
    action(async (names: string[], opts: { json?: boolean; docker?: boolean }) => {
      const services = names.length > 0 ? names.map(parseServiceName) : SERVICE_NAMES;
      const c = config();
      const started = Date.now();
      const result = await ensureStackUp(c, {
        services,
        docker: opts.docker ?? true,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      output({ ok: true, services: result, ms: Date.now() - started }, opts.json, () =>
        [
          ...result.map(
            (s) =>
              `${s.name.padEnd(14)} ${s.publicUrl.padEnd(32)} ${s.how.padEnd(11)} ready in ${formatDuration(s.readyMs)}${s.pid ? `  (pid ${s.pid})` : ""}`,
          ),
          `stack up in ${formatDuration(Date.now() - started)}; logs in ${stackPaths(c).logs}`,
        ].join("\n"),
      );
      return ExitCode.OK;
    }),
  );

  withExamples(
    stack
      .command("down")
      .description(
        "stop the services the stack started (SIGTERM, then SIGKILL); external ones are left alone",
      )
      .argument("[services...]", `some of: ${SERVICE_NAMES.join(", ")} (default: all)`)
      .option("--json", "print a JSON summary"),
    ["capline stack down", "capline stack down elasticsearch"],
  ).action(
    action(async (names: string[], opts: { json?: boolean }) => {
      const services = names.length > 0 ? names.map(parseServiceName) : SERVICE_NAMES;
      const results = await stopStack(config(), services);
      output({ ok: true, services: results }, opts.json, () =>
        results
          .map(
            (r) => `${r.name.padEnd(14)} ${r.outcome === "external" ? "external (left running)" : r.outcome}`,
          )
          .join("\n"),
      );
      return ExitCode.OK;
    }),
  );

  withExamples(
    stack
      .command("status")
      .description("probe every service: up (started by the stack), external, unhealthy or down")
      .argument("[services...]", `some of: ${SERVICE_NAMES.join(", ")} (default: all)`)
      .option("--json", "print JSON")
      .addHelpText("after", "\nExit codes: 0 every service answers; 4 at least one does not."),
    ["capline stack status", "capline stack status --json | jq '.services[] | select(.state==\"down\")'"],
  ).action(
    action(async (names: string[], opts: { json?: boolean }) => {
      const services = names.length > 0 ? names.map(parseServiceName) : SERVICE_NAMES;
      const states = await serviceStatus(config(), services);
      const allUp = states.every((s) => s.state === "up" || s.state === "external");
      output({ ok: allUp, services: states }, opts.json, () =>
        states
          .map(
            (s) =>
              `${s.name.padEnd(14)} ${s.state.padEnd(10)} ${s.publicUrl.padEnd(32)} ${s.pid ? `pid ${s.pid}`.padEnd(10) : "".padEnd(10)} ${s.detail}`,
          )
          .join("\n"),
      );
      return allUp ? ExitCode.OK : ExitCode.UNAVAILABLE;
    }),
  );

  withExamples(
    stack
      .command("logs")
      .description("print the log of one service (or all), -f to follow")
      .argument("[service]", `one of: ${SERVICE_NAMES.join(", ")} (default: all)`)
      .option("-f, --follow", "keep printing new lines until interrupted")
      .option("-n, --lines <n>", "lines to print from the end of each log", "50"),
    ["capline stack logs elasticsearch", "capline stack logs kafka -f", "capline stack logs -n 200"],
  ).action(
    action(async (name: string | undefined, opts: { follow?: boolean; lines: string }) => {
      const services: readonly ServiceName[] = name ? [parseServiceName(name)] : SERVICE_NAMES;
      const paths = stackPaths(config());
      const lines = Number(opts.lines) > 0 ? Number(opts.lines) : 50;
      const prefix = (s: ServiceName, text: string) =>
        services.length === 1 ? text : text.replace(/^(?=.)/gm, `${s.padEnd(13)}| `);
      const offsets = new Map<ServiceName, number>();
      for (const s of services) {
        const file = paths.log(s);
        if (!existsSync(file)) {
          if (services.length === 1) process.stderr.write(`no log yet at ${file}\n`);
          offsets.set(s, 0);
          continue;
        }
        const text = readFileSync(file, "utf8");
        process.stdout.write(`${prefix(s, tail(text, lines))}\n`);
        offsets.set(s, Buffer.byteLength(text));
      }
      if (!opts.follow) return ExitCode.OK;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        for (const s of services) {
          const file = paths.log(s);
          if (!existsSync(file)) continue;
          const size = statSync(file).size;
          const from = offsets.get(s) ?? 0;
          if (size < from) offsets.set(s, 0);
          if (size <= from) continue;
          const buffer = Buffer.alloc(size - from);
          const fd = openSync(file, "r");
          readSync(fd, buffer, 0, buffer.length, from);
          closeSync(fd);
          offsets.set(s, size);
          process.stdout.write(prefix(s, buffer.toString("utf8")));
        }
      }
    }),
  );
}
