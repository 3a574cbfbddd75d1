import { type Logger, pino } from "pino";
import { redactor } from "./redact.ts";
import { terminalLine } from "./terminal.ts";

export type { Logger } from "pino";

let root: Logger | undefined;

export interface LoggerOptions {
  /**
   * Readable lines (level, time, stage, message, fields) for a person at a terminal, printed above
   * a progress bar instead of through it; JSON lines otherwise. @defaultValue stderr is a TTY
   */
  tty?: boolean;
  /**
   * Whether the user chose the level (LOG_LEVEL in the environment or .env.local). At a terminal
   * an unchosen level is `warn`: info lines are for services and CI logs. @defaultValue true
   */
  levelChosen?: boolean;
}

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const LEVEL_COLOURS: Record<string, string> = {
  TRACE: "90",
  DEBUG: "90",
  INFO: "36",
  WARN: "33",
  ERROR: "31",
  FATAL: "31;1",
};
const HIDDEN_FIELDS = new Set(["level", "time", "pid", "hostname", "app", "stage", "msg"]);

function fieldValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One JSON log line as a person reads it: `WARN  21:40:12 dispatcher: Redis unreachable; retrying
 * url=redis://127.0.0.1:6379`. Written here rather than with pino-pretty: the line has to be
 * formatted and written in the same synchronous call that clears and redraws a progress bar.
 */
export function formatLogLine(json: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const label =
    typeof entry.level === "string" ? entry.level.toUpperCase() : (LEVEL_NAMES[Number(entry.level)] ?? "LOG");
  const time = new Date(typeof entry.time === "number" ? entry.time : Date.now()).toTimeString().slice(0, 8);
  const level = colour
    ? `\u001b[${LEVEL_COLOURS[label] ?? "0"}m${label.padEnd(5)}\u001b[0m`
    : label.padEnd(5);
  const stage = typeof entry.stage === "string" ? `${entry.stage}: ` : "";
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  // One row per line: a message with newlines in it (Node's warnings have some) is joined up.
  const text = String(entry.msg ?? "").replace(/\s*\n\s*/g, " ");
  return [`${level} ${time} ${stage}${text}`, ...fields].join(" ");
}

/**
 * The process-wide logger on stderr (stdout stays free for command output and `--json`): JSON
 * lines for services, pipes and CI; at a terminal, readable lines printed above any progress bar.
 * Secrets are removed from every line, whatever field they end up in: the configured secret values,
 * and the password of any URL (core/redact.ts).
 */
export function createLogger(
  level: string,
  secrets: readonly string[] = [],
  options: LoggerOptions = {},
): Logger {
  if (secrets.length > 0) redactor.setSecrets(secrets);
  const tty = options.tty ?? process.stderr.isTTY === true;
  const colour = tty && process.env.NO_COLOR === undefined;
  const destination = tty
    ? { write: (line: string) => terminalLine(process.stderr).writeAbove(formatLogLine(line, colour)) }
    : pino.destination({ fd: 2, sync: true });
  root = pino(
    {
      level: tty && options.levelChosen === false ? "warn" : level,
      base: { app: "capline" },
      redact: {
        paths: [
          "password",
          "apiKey",
          "secretKey",
          "*.password",
          "*.apiKey",
          "*.secretKey",
          "headers.authorization",
        ],
        censor: "[redacted]",
      },
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    destination,
  );
  if (tty) routeProcessWarnings();
  return root;
}

let warningsRouted = false;

/**
 * At a terminal, Node's own warnings (a library's deprecation, a negative timeout...) go through
 * the logger too, above the progress bar, instead of Node printing them into it.
 */
function routeProcessWarnings(): void {
  if (warningsRouted) return;
  warningsRouted = true;
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    root?.child({ stage: "node" }).warn({ warning: warning.name }, warning.message);
  });
}

/** A child logger for one stage (`ingest`, `dispatcher`, `stack`...). */
export function logger(stage: string): Logger {
  root ??= createLogger(process.env.LOG_LEVEL ?? "info", [], {
    levelChosen: process.env.LOG_LEVEL !== undefined && process.env.LOG_LEVEL !== "",
  });
  return root.child({ stage });
}
