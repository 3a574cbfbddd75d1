import { readFileSync } from "node:fs";
import type { Command as CommandType } from "commander";

/**
 * The `capline` program: which module registers each command (a command loads only the folder
 * that implements it: the clients take most of a second to import, and `capline ingest` should
 * not pay for the report's or the monitor's), and the program built from them. `main.ts` runs it;
 * the tests walk the same program (every command's help, the completion scripts).
 */

export type Registrar = (program: CommandType) => void;

/** Top-level command → the module that registers it (and its siblings). */
export const REGISTRARS: Record<string, () => Promise<Registrar>> = {
  stack: async () => (await import("../stack/cli.ts")).registerStackCommands,
  setup: async () => (await import("../setup/command.ts")).registerSetupCommands,
  reset: async () => (await import("../setup/command.ts")).registerSetupCommands,
  generate: async () => (await import("../ingestion/commands.ts")).registerIngestion,
  ingest: async () => (await import("../ingestion/commands.ts")).registerIngestion,
  inspect: async () => (await import("../ingestion/inspect-cli.ts")).registerInspect,
  dlq: async () => (await import("../dlq/cli.ts")).registerDlq,
  kibana: async () => (await import("../kibana/cli.ts")).registerKibana,
  monitor: async () => (await import("../monitoring/cli.ts")).registerMonitor,
  process: async () => (await import("../processing/cli.ts")).registerProcessing,
  compact: async () => (await import("../processing/compact-cli.ts")).registerCompact,
  forget: async () => (await import("../processing/forget/cli.ts")).registerForget,
  report: async () => (await import("../analytics/cli.ts")).registerReports,
  config: async () => registerConfig,
  doctor: async () => (await import("./doctor.ts")).registerDoctor,
  demo: async () => (await import("./demo.ts")).registerDemo,
  completion: async () => (await import("./completion.ts")).registerCompletion,
};

/** package.json's version; this module runs from `cli/` (sources) or `dist/cli/` (compiled). */
function packageVersion(): string {
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "capline" && pkg.version) return pkg.version;
    } catch {
      // not this one
    }
  }
  return "unknown";
}

export const VERSION = packageVersion();

function registerConfig(program: CommandType): void {
  program
    .command("config")
    .summary("print the configuration in force (secrets masked)")
    .description(
      "print the configuration in force (env > .env.local > .env > defaults); secrets are shown as (set)/(unset). " +
        "--show-origin lists every variable with its value and where it came from",
    )
    .option("--json", "print JSON (the default without --show-origin)")
    .option(
      "--show-origin",
      "one line per variable: value and origin (environment, .env.local, .env, default)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ capline config\n  $ capline config --show-origin\n  $ KAFKA_BROKERS=broker:29092 capline config --show-origin --json\n",
    )
    .action(async (opts: { json?: boolean; showOrigin?: boolean }) => {
      const { action, printConfig, printConfigOrigins } = await import("../core/cli/index.ts");
      await action(() => (opts.showOrigin ? printConfigOrigins(opts.json) : printConfig(opts.json)))();
    });
}

/**
 * One line per top-level command in `capline --help` (each command's own --help has the full
 * description). Set here, in one table, so the list reads as one text.
 */
export const SUMMARIES: Record<string, string> = {
  stack: "start, stop and watch the local services",
  setup: "create topics, indices, bucket, HDFS root",
  reset: "delete the pipeline's data, to start over",
  generate: "write a realistic REES46-style sample",
  ingest: "send CSV rows to Kafka, validated, once",
  inspect: "profile input files, sending nothing",
  dlq: "refused rows: count, show, replay once",
  process: "Kafka → Parquet lake and Elasticsearch",
  compact: "merge a day's small Parquet files",
  forget: "erase customers from every store (GDPR)",
  report: "analytics reports (table, CSV, HTML...)",
  monitor: "health of every part, or over HTTP",
  kibana: "build, check and import the dashboards",
  config: "the configuration in force, and origins",
  doctor: "check the machine and stack, with fixes",
  demo: "the walkthrough: start, load, process, look",
  completion: "shell completion script (bash, zsh, fish)",
};

/** The first argument that is not an option: the command asked for, if any. */
export function commandAsked(argv: readonly string[]): string | undefined {
  return argv.find((a) => !a.startsWith("-"));
}

/**
 * The program with the commands `argv` needs: only the asked command's module, or every module
 * for help, an unknown command (with its "did you mean") and completion.
 */
export async function buildProgram(argv: readonly string[]): Promise<CommandType> {
  const [{ Command }, { configureErrors, withExamples }] = await Promise.all([
    import("commander"),
    import("../core/cli/index.ts"),
  ]);
  const program = new Command("capline")
    .description(
      "capline, a customer-analytics pipeline: CSV events → Kafka → a Parquet lake (MinIO + HDFS) and " +
        "customer profiles and sales aggregates in Elasticsearch.",
    )
    .version(VERSION, "-V, --version");
  configureErrors(program);
  const asked = commandAsked(argv);
  const all = asked === undefined || asked === "completion" || !(asked in REGISTRARS);
  const wanted = all ? Object.values(REGISTRARS) : [REGISTRARS[asked]];
  const registered = new Set<Registrar>();
  for (const load of wanted) {
    if (!load) continue;
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
  for (const command of program.commands) {
    const summary = SUMMARIES[command.name()];
    if (summary) command.summary(summary);
  }
  withExamples(program, [
    "capline doctor            # is this machine ready? each problem with its fix",
    "capline stack up          # start Kafka, Elasticsearch, MinIO, HDFS and Redis",
    "capline setup             # create topics, indices, bucket and HDFS root",
    "capline <command> --help  # every command explains itself, with examples",
  ]);
  return program;
}
