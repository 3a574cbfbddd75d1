import { isCaplineError } from "./errors.ts";

/**
 * Exit codes shared by every command (documented in README.md, "Exit codes").
 * `monitor` keeps its own 0/1/2 = OK/WARN/DOWN scale, as health checkers expect.
 */
export const ExitCode = {
  /** Everything asked for was done. */
  OK: 0,
  /** An unexpected failure (a bug, or a service answered with an error). */
  FAILURE: 1,
  /** Bad flag, bad configuration, an input file that cannot be read, or a missing prerequisite. */
  USAGE: 2,
  /** Done, but some input was refused (rows rejected to the DLQ). */
  PARTIAL: 3,
  /** A service needed for the command is not reachable. */
  UNAVAILABLE: 4,
  /** An existing index/topic/bucket conflicts with what capline expects. */
  CONFLICT: 5,
  /** Nothing to read yet: the indices are empty or missing (reports: run ingest and process). */
  NO_DATA: 6,
  /** The user declined a confirmation or interrupted the command. */
  ABORTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(error: unknown): ExitCodeValue {
  if (!isCaplineError(error)) return ExitCode.FAILURE;
  switch (error.code) {
    case "CONFIG_INVALID":
    case "USAGE":
    case "INPUT_INVALID":
    case "PREREQUISITE_MISSING":
      return ExitCode.USAGE;
    case "SERVICE_UNAVAILABLE":
      return ExitCode.UNAVAILABLE;
    case "CONFLICT":
      return ExitCode.CONFLICT;
    case "ABORTED":
      return ExitCode.ABORTED;
    case "NO_DATA":
      return ExitCode.NO_DATA;
    default:
      return ExitCode.FAILURE;
  }
}
