import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CaplineError } from "./errors.ts";

/**
 * Every file a capline command writes goes through here, so that no command destroys a file it
 * was not clearly told to (docs/decisions.md, "Output files"):
 *
 * - a path that is one of the command's inputs (the same file by device and inode, whatever the
 *   path, a hard link or a symbolic link to it) is refused, even with --overwrite;
 * - a symbolic link is not followed (O_NOFOLLOW): capline did not create it, and writing through
 *   it would write somewhere the user did not name — except a link to a device or a pipe
 *   (`/dev/stdout`), which holds nothing to destroy;
 * - an existing file is replaced only with the command's overwrite flag (`--overwrite`), or
 *   appended to where the command has such a flag (`generate --append`);
 * - missing parent folders are created; a folder that cannot be created, a path that is a folder,
 *   or any refusal is a USAGE error (exit 2) in one line naming the flag.
 *
 * Whole-file outputs (`writeOutputFile`) are written to a temporary file beside the target and
 * moved into place, so a reader never sees half a report and a failure leaves the old file intact.
 */

export interface OutputOptions {
  /** The flag that named the path (`--rejects`, `--out`): every message starts with it. */
  flag: string;
  /** The user asked to replace an existing file. @defaultValue false */
  overwrite?: boolean;
  /** The flag that allows replacing, named in the refusal. @defaultValue "--overwrite" */
  overwriteFlag?: string;
  /** Add to an existing file instead of replacing it (the command's own append flag). */
  append?: boolean;
  /** Paths the command reads: never written, whatever the flags ("-" for stdin is ignored). */
  inputs?: readonly string[];
}

export interface OutputFile {
  /** The path as given. */
  path: string;
  /** An open descriptor, positioned for writing (the end when appending). */
  fd: number;
  /** The file existed before (replaced or appended to). */
  existed: boolean;
  write(text: string | Uint8Array): void;
  close(): void;
}

/** One line, exit 2. The system's reason is in the message itself (no "cause:" line after it). */
function refuse(options: OutputOptions, path: string, why: string, _cause?: unknown): CaplineError {
  return new CaplineError("USAGE", `${options.flag} ${path}: ${why}`);
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code
    ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")}`
    : String(error);
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** The inputs' identities (device + inode), skipping stdin and paths that do not exist. */
function inputIdentities(inputs: readonly string[]): { path: string; stat: Stats }[] {
  const out: { path: string; stat: Stats }[] = [];
  for (const path of inputs) {
    if (path === "-") continue;
    try {
      out.push({ path, stat: statSync(path) });
    } catch {
      // An input that cannot be read fails in its own command with its own message.
    }
  }
  return out;
}

function checkNotInput(options: OutputOptions, path: string, stat: Stats): void {
  for (const input of inputIdentities(options.inputs ?? []))
    if (sameFile(input.stat, stat))
      throw refuse(
        options,
        path,
        `refused: it is ${input.path === path ? "an input file of this command" : `the same file as the input ${input.path}`}; give another path`,
      );
}

type Existing = { kind: "none" } | { kind: "file"; stat: Stats } | { kind: "device" };

/** Checks the target and creates its folder; says what is there now. */
function prepare(path: string, options: OutputOptions): Existing {
  if (path === "") throw refuse(options, '""', "an empty path; give a file name");
  const folder = dirname(resolve(path));
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw refuse(options, path, `cannot create the folder ${folder} (${reason(error)})`, error);
  }
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
    throw refuse(options, path, `cannot be written (${reason(error)})`, error);
  }
  if (st.isSymbolicLink()) {
    let target: Stats | undefined;
    try {
      target = statSync(path);
    } catch {
      target = undefined;
    }
    if (target && (target.isCharacterDevice() || target.isFIFO() || target.isSocket()))
      return { kind: "device" };
    throw refuse(
      options,
      path,
      "refused: it is a symbolic link, and capline does not write through a link it did not create; give the real path",
    );
  }
  if (st.isDirectory()) throw refuse(options, path, "is a folder; give a file name");
  if (st.isCharacterDevice() || st.isFIFO() || st.isSocket()) return { kind: "device" };
  checkNotInput(options, path, st);
  if (!options.overwrite && !options.append)
    throw refuse(
      options,
      path,
      `refused: the file exists; add ${options.overwriteFlag ?? "--overwrite"} to replace it, or give another path`,
    );
  return { kind: "file", stat: st };
}

/**
 * The checks alone, for a command that works a while before it writes (a report): a refusal comes
 * first, not after the work. Writing checks again (the path may have changed meanwhile).
 */
export function checkOutputPath(path: string, options: OutputOptions): void {
  prepare(path, options);
}

/**
 * Opens an output for streaming (the rejects file, a generated sample). The checks above run
 * before anything is written; the descriptor is checked again after opening (a file swapped in
 * between is refused before it is truncated).
 */
export function openOutputFile(path: string, options: OutputOptions): OutputFile {
  const existing = prepare(path, options);
  const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = constants;
  let flags = O_WRONLY | O_CREAT | O_NOFOLLOW;
  if (existing.kind === "none") flags |= O_EXCL;
  if (options.append) flags |= O_APPEND;
  let fd: number;
  try {
    fd = openSync(
      path,
      existing.kind === "device" ? O_WRONLY | (options.append ? O_APPEND : 0) : flags,
      0o644,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ELOOP")
      throw refuse(
        options,
        path,
        "refused: the path changed while it was being opened (a file or link appeared); try again",
        error,
      );
    throw refuse(options, path, `cannot be written (${reason(error)})`, error);
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile()) {
      checkNotInput(options, path, st);
      if (existing.kind === "file" && !options.append) ftruncateSync(fd, 0);
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return {
    path,
    fd,
    existed: existing.kind !== "none",
    write(text) {
      const buf = typeof text === "string" ? Buffer.from(text) : text;
      let at = 0;
      while (at < buf.length) at += writeSync(fd, buf, at, buf.length - at);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/**
 * Writes a whole file (a report, saved objects): into a temporary file beside the target, then
 * moved into place — linked without replacing when overwriting was not asked for, so a file that
 * appeared meanwhile is refused, not replaced. A device (`/dev/stdout`) is written directly.
 */
export function writeOutputFile(path: string, content: string | Uint8Array, options: OutputOptions): void {
  const existing = prepare(path, options);
  if (existing.kind === "device" || options.append) {
    const out = openOutputFile(path, options);
    try {
      out.write(content);
    } finally {
      out.close();
    }
    return;
  }
  const temp = join(
    dirname(resolve(path)),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  let fd: number;
  try {
    fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (error) {
    throw refuse(options, path, `cannot be written (${reason(error)})`, error);
  }
  let open = true;
  try {
    const buf = typeof content === "string" ? Buffer.from(content) : content;
    let at = 0;
    while (at < buf.length) at += writeSync(fd, buf, at, buf.length - at);
    open = false;
    closeSync(fd);
    if (existing.kind === "none") {
      try {
        linkSync(temp, path);
        unlinkSync(temp);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST")
          throw refuse(
            options,
            path,
            "refused: a file of that name appeared while writing; try again",
            error,
          );
        // A file system without hard links: the check above is all there is.
        renameSync(temp, path);
      }
    } else renameSync(temp, path);
  } catch (error) {
    if (open) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // moved into place or never created
    }
    if (error instanceof CaplineError) throw error;
    throw refuse(options, path, `cannot be written (${reason(error)})`, error);
  }
}
