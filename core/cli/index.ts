import { type Command, type CommanderError, InvalidArgumentError } from "commander";
import { bindHost, topicName } from "../config/fields.ts";
import { type Config, configOrigins, describeConfig, loadConfig, secretValues } from "../config/index.ts";
import { describeError, isCaplineError, UsageError } from "../errors.ts";
import { ExitCode, exitCodeFor } from "../exit-codes.ts";
import { snakeKeys } from "../json/index.ts";
import { createLogger } from "../logging.ts";
import { cleanMessage, escapeControl, redactor } from "../redact.ts";

export { ExitCode } from "../exit-codes.ts";

let cached: Config | undefined;

/** The configuration, parsed and validated once per process (env + .env.local + .env). */
export function config(): Config {
  if (!cached) {
    cached = loadConfig();
    // LOG_LEVEL in .env is the project's default, not the user's choice: at a terminal that means warn.
    const origin = configOrigins().find((o) => o.variable === "LOG_LEVEL")?.origin;
    createLogger(cached.logLevel, secretValues(cached), {
      levelChosen: origin === "environment" || origin === ".env.local" || origin === "override",
    });
  }
  return cached;
}

/** Adds an "Examples:" block to a command's --help. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
}

export interface JsonOption {
  json?: boolean;
}

/**
 * Wraps a command action: errors become one clear line on stderr (or a JSON object on stdout
 * with --json) and a documented exit code; a returned number is the exit code.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | undefined> | number | undefined,
) {
  return async (...args: A): Promise<void> => {
    const json = args.some((a) => typeof a === "object" && a !== null && (a as JsonOption).json === true);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? ExitCode.OK;
    } catch (error) {
      process.exitCode = exitCodeFor(error);
      reportError(error, json);
    }
  };
}

/**
 * One line (or a short block) on stderr, or `{ok: false, error}` on stdout with --json. Whatever
 * the error holds — a file's header, a server's answer, a URL — passes through the redactor (no
 * secret, no URL password) and has its control characters escaped (no terminal escape sequence).
 */
export function reportError(error: unknown, json: boolean): void {
  if (json) {
    const body = isCaplineError(error) ? error.toJSON() : { code: "INTERNAL", message: describeError(error) };
    process.stdout.write(`${redactor.redact(JSON.stringify(snakeKeys({ ok: false, error: body })))}\n`);
    return;
  }
  const message = isCaplineError(error) ? error.message : describeError(error);
  const cause =
    isCaplineError(error) && error.cause !== undefined ? `\n  cause: ${describeError(error.cause)}` : "";
  process.stderr.write(`capline: ${cleanMessage(message + cause)}\n`);
  if (!isCaplineError(error) && error instanceof Error && process.env.LOG_LEVEL === "debug") {
    process.stderr.write(`${cleanMessage(error.stack ?? "")}\n`);
  }
}

/**
 * Prints a value: JSON with --json (keys in snake_case, core/json: the one key style of every
 * output), otherwise through `human`. `dataKeys`: properties whose keys are data (names), kept.
 * Both pass through the redactor, so a URL with a password or a secret value never reaches the
 * terminal or a script.
 */
export function output(
  value: unknown,
  json: boolean | undefined,
  human: () => string,
  dataKeys: readonly string[] = [],
): void {
  const text = json ? JSON.stringify(snakeKeys(value, dataKeys), null, 2) : human();
  process.stdout.write(`${redactor.redact(text)}\n`);
}

/**
 * Commander argument parser for whole numbers from `min` to `max`, naming the flag, the range and
 * the value given in its message (the value shown with its control characters escaped).
 */
export function positiveInt(flag: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`${flag} takes a whole number ${range}, got "${escapeControl(raw)}"`);
    }
    return value;
  };
}

/** Commander argument parser for an address to bind a server to (`monitor serve --host`). */
export function hostFlag(flag: string) {
  return (raw: string): string => {
    const parsed = bindHost(raw);
    if (!parsed.ok)
      throw new InvalidArgumentError(
        `${flag}: ${escapeControl(parsed.problem)}; expected ${parsed.expected}`,
      );
    return parsed.value;
  };
}

/** Commander argument parser for a Kafka topic name (`--topic`, `--dlq-topic`). */
export function topicFlag(flag: string) {
  return (raw: string): string => {
    const parsed = topicName(raw);
    if (!parsed.ok)
      throw new InvalidArgumentError(
        `${flag}: ${escapeControl(parsed.problem)}; expected ${parsed.expected}`,
      );
    return parsed.value;
  };
}

export function parseOrUsage<T>(
  flag: string,
  raw: string,
  parse: (raw: string) => T | undefined,
  expected: string,
): T {
  const value = parse(raw);
  if (value === undefined) throw new UsageError(`${flag}: "${raw}" is not valid; expected ${expected}`);
  return value;
}

/** Makes commander's own errors (unknown flag, missing argument) exit with the usage code. */
export function configureErrors(program: Command): void {
  program.exitOverride((err: CommanderError) => {
    if (
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.version" ||
      err.code === "commander.help"
    ) {
      process.exit(ExitCode.OK);
    }
    process.exit(ExitCode.USAGE);
  });
  program.showSuggestionAfterError(true);
  program.showHelpAfterError("(add --help for usage and examples)");
  // Commander echoes the offending argument: a URL with a password, or an escape sequence.
  program.configureOutput({ outputError: (text, write) => write(cleanMessage(text)) });
}

export function printConfig(json: boolean | undefined): number {
  const c = config();
  output(describeConfig(c), json ?? true, () => JSON.stringify(describeConfig(c), null, 2));
  return ExitCode.OK;
}

/** `capline config --show-origin`: every variable, its value in force and where it came from. */
export function printConfigOrigins(json: boolean | undefined): number {
  config(); // an invalid configuration stops here, naming the variables
  const origins = configOrigins();
  if (json) {
    const rows = origins.map((o) => ({
      variable: o.variable,
      value: o.value,
      origin: o.origin,
      ...(o.emptiedBy ? { emptied_by: o.emptiedBy } : {}),
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return ExitCode.OK;
  }
  const width = Math.max(...origins.map((o) => o.variable.length));
  const valueWidth = Math.min(48, Math.max(...origins.map((o) => o.value.length)));
  const lines = origins.map((o) => {
    const where = o.emptiedBy ? `${o.origin} (empty in ${o.emptiedBy})` : o.origin;
    const value = o.value === "" ? "-" : o.value;
    return `${o.variable.padEnd(width)}  ${value.padEnd(valueWidth)}  ${where}`;
  });
  process.stdout.write(`${lines.join("\n")}\n`);
  return ExitCode.OK;
}
