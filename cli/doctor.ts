import type { Command } from "commander";
import { action, withExamples } from "../core/cli/index.ts";
import { isCaplineError } from "../core/errors.ts";
import type { DoctorCheck, DoctorReport } from "./doctor-checks.ts";

/**
 * `capline doctor`: whether this machine and the stack it points at are ready, each problem with
 * its fix. Exit codes on the health-checker scale, as `capline monitor`: 0 healthy, 1 warnings,
 * 2 broken.
 */

export const DOCTOR_EXIT = { healthy: 0, warnings: 1, broken: 2 } as const;

const MARK: Record<DoctorCheck["status"], string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };

export function renderDoctor(report: DoctorReport): string {
  const problems = report.checks.filter((c) => c.status === "fail").length;
  const warnings = report.checks.filter((c) => c.status === "warn").length;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const head =
    report.status === "healthy"
      ? "capline doctor: healthy"
      : `capline doctor: ${report.status} (${[
          problems ? plural(problems, "problem", "problems") : "",
          warnings ? plural(warnings, "warning", "warnings") : "",
        ]
          .filter(Boolean)
          .join(", ")})`;
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = [head, ""];
  for (const check of report.checks) {
    lines.push(`  ${MARK[check.status]}  ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.fix) {
      const [first, ...rest] = check.fix.split("\n");
      lines.push(`  ${" ".repeat(4)}  ${" ".repeat(width)}  fix: ${first}`);
      for (const line of rest) lines.push(`  ${" ".repeat(4)}  ${" ".repeat(width)}  ${line}`);
    }
  }
  return lines.join("\n");
}

export function doctorJson(report: DoctorReport): Record<string, unknown> {
  return {
    status: report.status,
    checks: report.checks.map((c) => ({
      name: c.name,
      status: c.status,
      detail: c.detail,
      fix: c.fix ?? null,
      url: c.url ?? null,
      version: c.version ?? null,
    })),
  };
}

async function doctor(opts: { json?: boolean }): Promise<number> {
  const { loadConfig, secretValues } = await import("../core/config/index.ts");
  const { createLogger } = await import("../core/logging.ts");
  let report: DoctorReport;
  try {
    const config = loadConfig();
    // Clients log their retries at warn; the doctor reports what failed itself.
    createLogger("error", secretValues(config));
    const { runDoctor } = await import("./doctor-checks.ts");
    report = await runDoctor(config);
  } catch (error) {
    if (!isCaplineError(error) || error.code !== "CONFIG_INVALID") throw error;
    // Nothing else can be checked with a configuration that does not load.
    const { checkNode, summarize } = await import("./doctor-checks.ts");
    report = summarize([
      checkNode(),
      {
        name: "configuration",
        status: "fail",
        detail: error.message.replace(/\n\s*/g, "; "),
        fix: "correct the variable in the environment, .env.local or .env (`capline config --show-origin` shows where each comes from)",
      },
    ]);
  }
  process.stdout.write(
    opts.json ? `${JSON.stringify(doctorJson(report), null, 2)}\n` : `${renderDoctor(report)}\n`,
  );
  return DOCTOR_EXIT[report.status];
}

export function registerDoctor(program: Command): void {
  withExamples(
    program
      .command("doctor")
      .summary("check this machine and the stack: each problem with its fix")
      .description(
        "check that this machine and the stack it points at are ready: Node, Docker and Compose, vm.max_map_count, " +
          "disk space, free ports, every service with its URL and version, the topics, indices, bucket and HDFS root, " +
          "and the configuration. Each problem comes with its fix. Nothing is changed. " +
          "Exit codes: 0 healthy, 1 warnings, 2 broken",
      )
      .option("--json", "print the checks as JSON")
      .action(action((opts: { json?: boolean }) => doctor(opts))),
    [
      "capline doctor",
      "capline doctor --json | jq '.checks[] | select(.status != \"ok\")'",
      "capline config --show-origin",
    ],
  );
}
