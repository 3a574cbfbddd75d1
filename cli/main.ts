import { Command } from "commander";
import { registerReports } from "../analytics/index.ts";
import { action, configureErrors, printConfig, withExamples } from "../core/cli/index.ts";
import { registerIngestion } from "../ingestion/index.ts";
import { registerKibana } from "../kibana/index.ts";
import { registerMonitor } from "../monitoring/index.ts";
import { registerCompact, registerProcessing } from "../processing/index.ts";
import { registerSetupCommands } from "../setup/index.ts";
import { registerStackCommands } from "../stack/cli.ts";
import { registerDemo } from "./demo.ts";

const program = new Command("capline")
  .description(
    "capline — customer-analytics pipeline: CSV events → Kafka → Parquet lake (MinIO + HDFS) and\n" +
      "customer profiles and sales aggregates in Elasticsearch.",
  )
  .version("0.1.0", "-V, --version");
configureErrors(program);
registerStackCommands(program);
registerSetupCommands(program);
registerIngestion(program);
registerKibana(program);
registerMonitor(program);
registerProcessing(program);
registerCompact(program);
registerReports(program);

withExamples(
  program
    .command("config")
    .description(
      "print the configuration in force (env > .env.local > .env); secrets are shown as (set)/(unset)",
    )
    .option("--json", "print JSON (the default)")
    .action(action((opts: { json?: boolean }) => printConfig(opts.json))),
  ["capline config", "KAFKA_BROKERS=broker:29092 capline config"],
);

registerDemo(program);

withExamples(program, [
  "capline stack up          # start Kafka, Elasticsearch, MinIO, HDFS and Redis",
  "capline setup             # create topics, indices, bucket and HDFS root",
  "capline <command> --help  # every command explains itself",
]);

await program.parseAsync(process.argv);
