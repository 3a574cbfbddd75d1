import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Command } from "commander";
import { action, config, ExitCode, withExamples } from "../core/cli/index.ts";
import { PROJECT_ROOT, publicUrl } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";

interface Step {
  title: string;
  command: string;
  args: string[];
  /** Exit codes that still count as success (ingest exits 3 when it refused some rows). */
  okCodes?: number[];
}

/** Runs one capline subcommand in a child process, with the terminal attached. */
function run(step: Step): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "bin", "capline.mjs"), step.command, ...step.args],
      {
        stdio: "inherit",
        // Service-style info logs would drown the walkthrough; LOG_LEVEL in the environment still wins.
        env: { LOG_LEVEL: "warn", ...process.env },
      },
    );
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * The whole demo, for a newcomer: the local stack, the Kafka topics and indices, a generated
 * sample, its ingestion and processing, then where to look. Each step is an ordinary capline
 * command, printed before it runs, so the demo doubles as a walkthrough.
 */
export function registerDemo(program: Command): void {
  withExamples(
    program
      .command("demo")
      .description(
        "start the stack, set it up, generate and ingest a sample, process it, and say where to look",
      )
      .option("--events <n>", "events to generate", "200000")
      .option(
        "--sample <file>",
        "where to write the generated sample",
        join(".capline", "demo", "sample.csv"),
      )
      .action(
        action(async (opts: { events: string; sample: string }) => {
          const available = new Set(program.commands.map((c) => c.name()));
          const steps: Step[] = [
            { title: "Start the local services", command: "stack", args: ["up"] },
            { title: "Create topics, indices, bucket and HDFS root", command: "setup", args: [] },
            {
              title: "Generate a realistic sample",
              command: "generate",
              args: ["--out", opts.sample, "--events", opts.events, "--seed", "42"],
            },
            // Not --force: a second demo finds the same sample (same seed, same bytes) already
            // ingested (exit 5) and goes on, instead of sending every event a second time.
            {
              title: "Ingest it into Kafka",
              command: "ingest",
              args: [opts.sample],
              okCodes: [ExitCode.PARTIAL, ExitCode.CONFLICT],
            },
            {
              title: "Process it into the lake and Elasticsearch",
              command: "process",
              args: ["--until-idle"],
            },
            { title: "Summary", command: "report", args: ["overview"] },
          ];
          let skipped: string[] = [];
          for (const [index, step] of steps.entries()) {
            if (!available.has(step.command)) {
              skipped = steps.slice(index).map((s) => `capline ${s.command}`);
              break;
            }
            process.stderr.write(
              `\n▶ ${index + 1}. ${step.title}: capline ${[step.command, ...step.args].join(" ")}\n`,
            );
            const code = await run(step);
            if (code !== ExitCode.OK && !(step.okCodes ?? []).includes(code)) {
              throw new CaplineError(
                "INTERNAL",
                `demo step "capline ${step.command}" failed with exit code ${code}`,
                {
                  details: { exitCode: code },
                },
              );
            }
          }
          const c = config();
          const where = [
            ["Kibana", c.kibana.url],
            ["Elasticsearch", c.elasticsearch.url],
            ["MinIO console", c.minio.consoleUrl],
            ["HDFS NameNode UI", `${c.hdfs.webhdfsUrl}/explorer.html#${c.hdfs.root}`],
          ];
          process.stderr.write(
            `\nWhere to look next:\n${where.map(([n, u]) => `  ${n?.padEnd(18)} ${publicUrl(c, u ?? "")}`).join("\n")}\n`,
          );
          if (skipped.length > 0) {
            process.stderr.write(
              `\nThis version of capline stops here: ${skipped.join(", ")} ${skipped.length === 1 ? "is" : "are"} not built yet ` +
                "(see the open issues in README.md, Status).\n",
            );
          }
          return ExitCode.OK;
        }),
      ),
    ["capline demo", "capline demo --events 885129"],
  );
}
