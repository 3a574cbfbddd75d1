import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { type Command, Option } from "commander";
import { action, config, ExitCode, output, positiveInt, withExamples } from "../core/cli/index.ts";
import { type Config, publicUrl } from "../core/config/index.ts";
import { CaplineError, UsageError } from "../core/errors.ts";
import { writeOutputFile } from "../core/output-file.ts";
import { dashboardDefs } from "./dashboards.ts";
import { DEFAULT_PREFIX, generateObjects, OBJECTS_FILE, toNdjson } from "./generate.ts";
import { displayUrl, type ImportResult, importSavedObjects, type KibanaAuth, spacePath } from "./import.ts";
import { formatProblem, type ValidationReport, validateNdjson } from "./validate.ts";

/**
 * `capline kibana generate | validate | import`. Exit codes: 0 ok; 1 Kibana refused an object or
 * answered with an error; 2 bad flag or objects that fail validation; 4 Kibana not reachable.
 */

function readObjects(file: string): string {
  if (!existsSync(file)) throw new UsageError(`--file: ${file} does not exist`);
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--file: cannot read ${file}`, { cause: error });
  }
}

function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith("..") ? file : rel || file;
}

function invalid(report: ValidationReport, file: string): CaplineError {
  const lines = report.problems.map((p) => `  ${formatProblem(p)}`);
  return new CaplineError(
    "INPUT_INVALID",
    `${shortPath(file)}: ${report.problems.length === 1 ? "1 problem" : `${report.problems.length} problems`} in the saved objects:\n${lines.join("\n")}`,
    { details: { file, problems: report.problems } },
  );
}

function kibanaAuth(c: Config): KibanaAuth {
  if (c.kibana.username && c.kibana.password)
    return { username: c.kibana.username, password: c.kibana.password };
  if (c.elasticsearch.apiKey) return { apiKey: c.elasticsearch.apiKey };
  return undefined;
}

function dashboardLinks(c: Config, url: string, space: string | undefined, prefix: string): string[] {
  const base = publicUrl(c, displayUrl(url)).replace(/\/+$/, "");
  return dashboardDefs(prefix).map(
    (d) => `${d.title}: ${base}${spacePath(space)}/app/dashboards#/view/${d.id}`,
  );
}

function humanImport(result: ImportResult, links: string[]): string {
  const lines = result.objects.map((o) => {
    const name = `${o.type} "${o.id}"${o.title ? ` (${o.title})` : ""}`;
    return o.ok ? `  ok     ${name}` : `  ERROR  ${name}: ${o.error}${o.message ? ` — ${o.message}` : ""}`;
  });
  const failed = result.objects.filter((o) => !o.ok).length;
  const head = `Kibana ${result.kibanaVersion ?? "(version unknown)"} at ${result.url}, space "${result.space}": ${result.successCount} imported, ${failed} failed`;
  return [head, ...lines, ...(failed === 0 ? ["", "Dashboards:", ...links.map((l) => `  ${l}`)] : [])].join(
    "\n",
  );
}

export function registerKibana(program: Command): void {
  const kibana = withExamples(
    program
      .command("kibana")
      .description(
        "capline's Kibana dashboards: generate the saved objects, check them offline, import them",
      ),
    [
      "capline kibana validate            # check the committed saved objects against the mappings, offline",
      "capline kibana import              # into the Kibana at KIBANA_URL (docker compose starts one)",
      "capline kibana generate --prefix demo --out demo.ndjson   # objects for another index prefix",
    ],
  );

  withExamples(
    kibana
      .command("generate")
      .description("write the saved objects (data views + dashboards) from their TypeScript definitions")
      .option(
        "--prefix <prefix>",
        "index/alias prefix the data views read (default ELASTICSEARCH_INDEX_PREFIX)",
      )
      .option(
        "--out <file>",
        `where to write the NDJSON (default ${shortPath(OBJECTS_FILE)} for the prefix ${DEFAULT_PREFIX}, else <prefix>.ndjson here)`,
      )
      .option("--overwrite", "replace --out if it exists (the shipped objects file is always regenerated)")
      .option("--json", "print a JSON summary")
      .action(
        action((opts: { prefix?: string; out?: string; overwrite?: boolean; json?: boolean }) => {
          const prefix = opts.prefix ?? config().elasticsearch.indexPrefix;
          if (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix))
            throw new UsageError(
              `--prefix: "${prefix}" is not an index prefix (lowercase letters, digits, . _ -)`,
            );
          // The committed file is for the default prefix; another one never overwrites it unasked.
          opts.out ??= prefix === DEFAULT_PREFIX ? shortPath(OBJECTS_FILE) : `${prefix}.ndjson`;
          const text = toNdjson(generateObjects(prefix));
          const report = validateNdjson(text, { kibanaVersion: config().versions.elastic });
          if (!report.ok) throw invalid(report, opts.out);
          // The shipped objects file is this command's own output: regenerating it is the point.
          const own = resolve(opts.out) === resolve(OBJECTS_FILE);
          writeOutputFile(opts.out, text, { flag: "--out", overwrite: own || opts.overwrite === true });
          output(
            { ok: true, file: opts.out, prefix, objects: report.objects, counts: report.counts },
            opts.json,
            () =>
              `Wrote ${report.objects} saved objects for the prefix ${prefix} to ${opts.out} (${Object.entries(
                report.counts,
              )
                .map(([t, n]) => `${n} ${t}`)
                .join(", ")})`,
          );
          return ExitCode.OK;
        }),
      ),
    [
      "capline kibana generate",
      "ELASTICSEARCH_INDEX_PREFIX=staging capline kibana generate   # writes staging.ndjson",
      "capline kibana generate --prefix staging --out /tmp/staging.ndjson",
    ],
  );

  withExamples(
    kibana
      .command("validate")
      .description(
        "check saved objects offline: NDJSON shape, unique ids, references, and every field against the Elasticsearch mappings",
      )
      .option("--file <file>", "NDJSON export to check", shortPath(OBJECTS_FILE))
      .option("--json", "print the report as JSON")
      .addHelpText("after", "\nExit codes: 0 valid, 2 invalid (each problem names the object and the field).")
      .action(
        action((opts: { file: string; json?: boolean }) => {
          const report = validateNdjson(readObjects(opts.file), { kibanaVersion: config().versions.elastic });
          if (opts.json) {
            output({ file: opts.file, ...report }, true, () => "");
            return report.ok ? ExitCode.OK : ExitCode.USAGE;
          }
          if (!report.ok) throw invalid(report, opts.file);
          output(report, false, () => {
            const counts = Object.entries(report.counts)
              .map(([t, n]) => `${n} ${t}`)
              .join(", ");
            return `${opts.file}: ${report.objects} saved objects valid (${counts}) for Kibana ${config().versions.elastic}`;
          });
          return ExitCode.OK;
        }),
      ),
    ["capline kibana validate", "capline kibana validate --file exported.ndjson --json"],
  );

  withExamples(
    kibana
      .command("import")
      .description(
        "wait for Kibana, then import the dashboards and data views (overwriting capline's own objects)",
      )
      .option("--url <url>", "Kibana URL (default: KIBANA_URL)")
      .option("--space <id>", "Kibana space to import into", "default")
      .option(
        "--file <file>",
        "NDJSON to import (default: the shipped objects, generated for ELASTICSEARCH_INDEX_PREFIX)",
      )
      .addOption(
        new Option("--timeout <seconds>", "how long to wait for Kibana to be ready")
          .default(300)
          .argParser(positiveInt("--timeout", 1, 86_400)),
      )
      .option("--json", "print the result as JSON")
      .addHelpText(
        "after",
        "\nExit codes: 0 every object imported; 1 Kibana refused an object or the request; 2 bad flag or invalid\nobjects; 4 Kibana not reachable or not ready in time.",
      )
      .action(
        action(
          async (opts: { url?: string; space: string; file?: string; timeout: number; json?: boolean }) => {
            const c = config();
            const url = opts.url ?? c.kibana.url;
            try {
              new URL(url);
            } catch {
              throw new UsageError(`--url: "${url}" is not a URL such as http://127.0.0.1:5601`);
            }
            spacePath(opts.space); // refuse a bad space id before waiting for Kibana
            const prefix = c.elasticsearch.indexPrefix;
            const file = opts.file ?? shortPath(OBJECTS_FILE);
            // The shipped file is for the default prefix; another prefix gets the same objects, regenerated.
            const ndjson =
              opts.file === undefined && prefix !== DEFAULT_PREFIX
                ? toNdjson(generateObjects(prefix))
                : readObjects(opts.file ?? OBJECTS_FILE);
            const report = validateNdjson(ndjson, { kibanaVersion: c.versions.elastic });
            if (!report.ok) throw invalid(report, file);
            let lastReason = "";
            const result = await importSavedObjects({
              url,
              space: opts.space,
              ndjson,
              auth: kibanaAuth(c),
              timeoutMs: opts.timeout * 1000,
              onWarning: (message) => process.stderr.write(`capline: ${message}\n`),
              onWait: (reason) => {
                if (!opts.json && reason !== lastReason)
                  process.stderr.write(`waiting for Kibana at ${displayUrl(url)}: ${reason}\n`);
                lastReason = reason;
              },
            });
            const links = dashboardLinks(c, url, opts.space, prefix);
            output({ ok: result.success, ...result, dashboards: links }, opts.json, () =>
              humanImport(result, links),
            );
            return result.success ? ExitCode.OK : ExitCode.FAILURE;
          },
        ),
      ),
    [
      "capline kibana import",
      "capline kibana import --url http://kibana:5601 --timeout 600",
      "capline kibana import --space analytics --json",
    ],
  );
}
