import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { action, config, ExitCode, withExamples } from "../core/cli/index.ts";
import { type Config, PROJECT_ROOT, publicUrl } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { dispatcherGroupOf } from "../core/names.ts";
import { describeGroups, openServices } from "../setup/index.ts";
import {
  aptInstall,
  aptUpdate,
  dockerAvailable,
  missingPrerequisites,
  packageInstaller,
  prerequisitesJson,
  realHost,
  renderPrerequisites,
  type ServiceName,
  serviceStatus,
} from "../stack/index.ts";

interface Step {
  title: string;
  command: string;
  args: string[];
  /** Exit codes that still count as success (ingest exits 3 when it refused some rows). */
  okCodes?: number[];
}

const say = (line: string) => process.stderr.write(`${line}\n`);

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

async function runStep(step: Step, index: number): Promise<void> {
  say(`\n▶ ${index}. ${step.title}: capline ${[step.command, ...step.args].join(" ")}`);
  const code = await run(step);
  if (code !== ExitCode.OK && !(step.okCodes ?? []).includes(code)) {
    throw new CaplineError("INTERNAL", `demo step "capline ${step.command}" failed with exit code ${code}`, {
      details: { exit_code: code },
    });
  }
}

/**
 * Before anything starts: without Docker, every program the local servers need must be there.
 * Missing Debian packages are installed when this runs as root or with passwordless sudo (said
 * first); anything else missing stops the demo with the whole list and how to get each.
 */
async function ensurePrerequisites(c: Config): Promise<void> {
  const down = (await serviceStatus(c))
    .filter((s) => s.state !== "up" && s.state !== "external")
    .map((s) => s.name as ServiceName);
  if (down.length === 0 || (await dockerAvailable())) return;
  let missing = missingPrerequisites(down, realHost(c));
  if (missing.length === 0) return;
  const installer = packageInstaller();
  if ("prefix" in installer) {
    say("No Docker engine answers, so the demo starts the servers as local processes.");
    say(
      `Missing: ${missing.map((p) => p.program).join(", ")}. Updating the package lists (${installer.how}) ...`,
    );
    const apt = (step: () => void) => {
      try {
        step();
      } catch (error) {
        throw new CaplineError(
          "PREREQUISITE_MISSING",
          `${error instanceof Error ? error.message : String(error)}; install these by hand, then run the demo again:\n${renderPrerequisites(missing)}`,
          { cause: error, details: { missing: prerequisitesJson(missing) } },
        );
      }
    };
    apt(() => aptUpdate(installer.prefix));
    missing = missingPrerequisites(down, realHost(c));
    const packages = [...new Set(missing.flatMap((p) => (p.debianPackage ? [p.debianPackage] : [])))];
    if (packages.length > 0) {
      say(`Installing Debian packages ${installer.how}: apt-get install ${packages.join(" ")}`);
      apt(() => aptInstall(installer.prefix, packages));
      missing = missingPrerequisites(down, realHost(c));
    }
  }
  if (missing.length === 0) return;
  const why = "reason" in installer ? `; nothing was installed: ${installer.reason}` : "";
  throw new CaplineError(
    "PREREQUISITE_MISSING",
    `the demo needs these before it can start ${down.join(", ")} (no Docker engine answers${why}):\n` +
      `${renderPrerequisites(missing)}\nInstall them (or start Docker) and run the demo again; nothing was started.`,
    { details: { missing: prerequisitesJson(missing) } },
  );
}

/**
 * The demo processes on this machine (`process --until-idle`). A dispatcher already in the group
 * (Compose's dispatcher and workers after a full `docker compose up`, or another `capline process`)
 * would share the partitions and the queues with it: stop instead of competing.
 */
async function ensureNoOtherConsumers(c: Config): Promise<void> {
  const services = openServices(c);
  try {
    const group = dispatcherGroupOf(c.kafka.clientId);
    const [state] = await describeGroups(await services.admin(), [group]);
    if (!state || state.members === 0) return;
    throw new CaplineError(
      "CONFLICT",
      `the consumer group ${group} already has ${state.members} consumer${state.members === 1 ? "" : "s"} ` +
        "(Compose's dispatcher and workers after `docker compose up`, or another `capline process`): the demo's " +
        "processing would compete with them for the partitions. Stop them (`docker compose stop dispatcher worker`) " +
        "and run the demo again, or let them process: `capline ingest FILE`, then `capline monitor`.",
      { details: { group, members: state.members } },
    );
  } finally {
    await services.close();
  }
}

/** Whether a Kibana answers at KIBANA_URL (Compose starts one; the local stack has none). */
async function kibanaAnswers(c: Config): Promise<boolean> {
  try {
    await fetch(`${c.kibana.url.replace(/\/$/, "")}/api/status`, { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * The whole demo, for a newcomer: the services, the Kafka topics and indices, a generated sample,
 * its ingestion and processing, the dashboards where Kibana runs, then where to look. Each step is
 * an ordinary capline command, printed before it runs, so the demo doubles as a walkthrough.
 */
export function registerDemo(program: Command): void {
  withExamples(
    program
      .command("demo")
      .summary("start, set up, load a sample, process it, and say where to look")
      .description(
        "the walkthrough: start the services (installing missing Debian packages as root), set them up, " +
          "generate and ingest a sample, process it, import the dashboards where Kibana runs, and say where to look",
      )
      .option("--events <n>", "events to generate", "200000")
      .option(
        "--sample <file>",
        "where to write the generated sample",
        join(".capline", "demo", "sample.csv"),
      )
      .action(
        action(async (opts: { events: string; sample: string }) => {
          const c = config();
          await ensurePrerequisites(c);
          let n = 0;
          await runStep({ title: "Start the services", command: "stack", args: ["up"] }, ++n);
          await runStep(
            { title: "Create topics, indices, bucket and HDFS root", command: "setup", args: [] },
            ++n,
          );
          await ensureNoOtherConsumers(c);
          await runStep(
            {
              title: "Generate a realistic sample",
              command: "generate",
              args: ["--out", opts.sample, "--events", opts.events, "--seed", "42"],
            },
            ++n,
          );
          // Not --force: a second demo finds the same sample (same seed, same bytes) already
          // ingested (exit 5) and goes on, instead of sending every event a second time.
          await runStep(
            {
              title: "Ingest it into Kafka",
              command: "ingest",
              args: [opts.sample],
              okCodes: [ExitCode.PARTIAL, ExitCode.CONFLICT],
            },
            ++n,
          );
          await runStep(
            {
              title: "Process it into the lake and Elasticsearch",
              command: "process",
              args: ["--until-idle"],
            },
            ++n,
          );
          const report = join(opts.sample, "..", "report.html");
          await runStep(
            {
              title: "Write the report to share (HTML: charts, definitions, print-ready)",
              command: "report",
              args: ["all", "--format", "html", "--out", report, "--overwrite"],
            },
            ++n,
          );
          // Kibana only where it runs (Docker Compose): import the dashboards, and only then send
          // people there; otherwise the HTML report is what there is to look at.
          let kibana = false;
          if (await kibanaAnswers(c)) {
            say(`\n▶ ${++n}. Import the Kibana dashboards: capline kibana import`);
            const code = await run({
              title: "Import the Kibana dashboards",
              command: "kibana",
              args: ["import", "--timeout", "120"],
            });
            kibana = code === ExitCode.OK;
            if (!kibana) say(`Kibana answered but the import failed (exit ${code}); see above.`);
          }
          const reportUrl = pathToFileURL(resolve(report)).href;
          say(
            kibana
              ? `\nDashboards: ${publicUrl(c, c.kibana.url)}/app/dashboards (the four capline · … dashboards); the same figures as a file: ${reportUrl}`
              : `\nNo Kibana answers at ${publicUrl(c, c.kibana.url)} (the local stack has none; with Docker, \`capline stack up\` starts one), so the visual result is the HTML report: open ${reportUrl}`,
          );
          const where = [
            ...(kibana ? [["Kibana", c.kibana.url]] : []),
            ["Elasticsearch", c.elasticsearch.url],
            ["MinIO console", c.minio.consoleUrl],
            ["HDFS NameNode UI", `${c.hdfs.webhdfsUrl}/explorer.html#${c.hdfs.root}`],
          ];
          say(
            `\nWhere to look next:\n${where.map(([name, url]) => `  ${name?.padEnd(18)} ${publicUrl(c, url ?? "")}`).join("\n")}`,
          );
          return ExitCode.OK;
        }),
      ),
    ["capline demo", "capline demo --events 885129", "npm run demo   # npm ci first, then this"],
  );
}
