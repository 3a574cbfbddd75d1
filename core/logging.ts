import { type Logger, pino } from "pino";

export type { Logger } from "pino";

let root: Logger | undefined;

/**
 * The process-wide logger: structured JSON on stderr (stdout stays free for command output and
 * `--json`). Secrets are removed from every line, whatever field they end up in.
 */
export function createLogger(level: string, secrets: readonly string[] = []): Logger {
  const hidden = secrets.filter((s) => s.length >= 4);
  root = pino(
    {
      level,
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
      hooks: {
        streamWrite: (line) =>
          hidden.length === 0 ? line : hidden.reduce((acc, s) => acc.split(s).join("[redacted]"), line),
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

/** A child logger for one stage (`ingest`, `dispatcher`, `stack`...). */
export function logger(stage: string): Logger {
  root ??= createLogger(process.env.LOG_LEVEL ?? "info");
  return root.child({ stage });
}
