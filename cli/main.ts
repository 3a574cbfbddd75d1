import { readFileSync } from "node:fs";
import type { Command as CommandType } from "commander";

/**
 * The `capline` entry. A command loads only the folder that implements it: the clients
 * (Elasticsearch, BullMQ, MinIO, Kafka) take most of a second to import, and `capline ingest`
 * should not pay for the report's or the monitor's. `--version` loads nothing at all.
 */

type Registrar = (program: CommandType) => void;

/** Top-level command → the module that registers it (and its siblings). */
const REGISTRARS: Record<string, () => Promise<Registrar>> = {
  stack: async () => (await import("../stack/cli.ts")).registerStackCommands,
  setup: async () => (await import("../setup/command.ts")).registerSetupCommands,
  reset: async () => (await import("../setup/command.ts")).registerSetupCommands,
  generate: async () => (await import("../ingestion/commands.ts")).registerIngestion,
  ingest: async () => (await import("../ingestion/commands.ts")).registerIngestion,
  inspect: async () => (await import("../ingestion/inspect-cli.ts")).registerInspect,
  kibana: async () => (await import("../kibana/cli.ts")).registerKibana,
  monitor: async () => (await import("../monitoring/cli.ts")).registerMonitor,
  process: async () => (await import("../processing/cli.ts")).registerProcessing,
  compact: async () => (await import("../processing/compact-cli.ts")).registerCompact,
  report: async () => (await import("../analytics/cli.ts")).registerReports,
  config: async () => registerConfig,
  doctor: async () => (await import("./doctor.ts")).registerDoctor,
  demo: async () => (await import("./demo.ts")).registerDemo,
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

const VERSION = packageVersion();

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

/** The first argument that is not an option: the command asked for, if any. */
function commandAsked(argv: readonly string[]): string | undefined {
  return argv.find((a) => !a.startsWith("-"));
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const [{ Command }, { configureErrors, withExamples }] = await Promise.all([
    import("commander"),
    import("../core/cli/index.ts"),
  ]);
  const program = new Command("capline")
    .description(
      "capline — customer-analytics pipeline: CSV events → Kafka → Parquet lake (MinIO + HDFS) and\n" +
        "customer profiles and sales aggregates in Elasticsearch.",
    )
    .version(VERSION, "-V, --version");
  configureErrors(program);
  const asked = commandAsked(argv);
  const wanted = asked !== undefined && asked in REGISTRARS ? [REGISTRARS[asked]] : Object.values(REGISTRARS);
  // Help, an unknown command (with its "did you mean") and completion need every command.
  const registered = new Set<Registrar>();
  for (const load of wanted) {
    if (!load) continue;
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
  withExamples(program, [
    "capline stack up          # start Kafka, Elasticsearch, MinIO, HDFS and Redis",
    "capline setup             # create topics, indices, bucket and HDFS root",
    "capline <command> --help  # every command explains itself",
  ]);
  await program.parseAsync(process.argv);
}
