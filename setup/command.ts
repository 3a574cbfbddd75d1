import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { action, config, ExitCode, output, withExamples } from "../core/cli/index.ts";
import { CaplineError, UsageError } from "../core/errors.ts";
import { renderSetupReport } from "./report.ts";
import { executeReset, planReset, renderPlan, renderResetResult, resetTargets } from "./reset.ts";
import { openServices } from "./services.ts";
import { runSetup, setupTargets } from "./setup.ts";

interface SetupOptions {
  json?: boolean;
}

interface ResetOptions {
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  drop?: boolean;
}

async function setupCommand(opts: SetupOptions): Promise<number> {
  const services = openServices(config());
  try {
    const report = await runSetup(services, setupTargets(services.config));
    output(report, opts.json, () => renderSetupReport(report));
    return report.ok ? ExitCode.OK : ExitCode.CONFLICT;
  } finally {
    await services.close();
  }
}

/** Asks on the terminal; without one, refuses (a script must say --yes). */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(
      "reset deletes the pipeline's data and there is no terminal to ask on: pass --yes to confirm",
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

async function resetCommand(opts: ResetOptions): Promise<number> {
  const services = openServices(config());
  try {
    const targets = resetTargets(services.config);
    const plan = await planReset(services, targets, { drop: opts.drop ?? false });
    if (opts.dryRun) {
      output({ ok: true, dryRun: true, ...plan }, opts.json, () => renderPlan(plan, true));
      return ExitCode.OK;
    }
    if (!opts.yes) {
      process.stderr.write(`${renderPlan(plan, false)}\n\n`);
      if (!(await confirm(`${opts.drop ? "Drop" : "Delete"} all of this? [y/N] `)))
        throw new CaplineError("ABORTED", "reset cancelled; nothing was deleted");
    }
    const result = await executeReset(services, targets, plan);
    output({ ok: true, ...result }, opts.json, () => renderResetResult(result));
    return ExitCode.OK;
  } finally {
    await services.close();
  }
}

/** Registers `capline setup` and `capline reset`. */
export function registerSetupCommands(program: Command): void {
  withExamples(
    program
      .command("setup")
      .description(
        "create the Kafka topics, Elasticsearch index templates/indices/aliases, MinIO bucket and HDFS root " +
          "(idempotent: existing items are checked, never changed). Exit 0 ok, 4 a service is down, 5 something " +
          "exists but differs (listed)",
      )
      .option("--json", "print the report as JSON")
      .action(action((opts: SetupOptions) => setupCommand(opts))),
    ["capline setup", "capline setup --json", "ELASTICSEARCH_INDEX_PREFIX=demo capline setup"],
  );
  withExamples(
    program
      .command("reset")
      .description(
        "delete the pipeline's data everywhere (topic messages, consumer offsets, indices, lake objects, HDFS " +
          "files, queues, ingest checkpoints) and recreate the empty structures. Exit 0 ok, 2 no --yes without " +
          "a terminal, 4 a service is down, 5 consumers still attached, 130 declined",
      )
      .option("--dry-run", "list what would be deleted, with counts; delete nothing")
      .option(
        "--drop",
        "tear the names down completely: topics, indices, aliases, templates, bucket and HDFS root go too, nothing is recreated",
      )
      .option("--yes", "do not ask for confirmation (needed when there is no terminal)")
      .option("--json", "print the plan or the result as JSON")
      .action(action((opts: ResetOptions) => resetCommand(opts))),
    [
      "capline reset --dry-run",
      "capline reset --yes",
      "capline reset --dry-run --json",
      "capline reset --drop --dry-run   # what tearing the names down would remove",
    ],
  );
}
