import { CaplineError } from "../core/errors.ts";
import type { RejectedRow } from "../core/schema/events.ts";
import { CsvParser, type CsvRecord } from "./csv-parser.ts";
import { type ColumnMap, parseMapOption, resolveHeader } from "./header.ts";
import { type InputSource, openText } from "./input.ts";
import type { Pacer } from "./pacer.ts";
import { type RowCounts, type RowLimits, RowValidator } from "./rows.ts";
import type { FileStatus } from "./types.ts";

/**
 * The reading side of an ingest: parses and validates a file's rows and cuts them into chunks
 * (one Kafka transaction each), each event already encoded as its JSON value. It runs in a worker
 * thread (ingestion/parse-worker.ts) so that parsing, validation and encoding use one core while
 * the main thread talks to Kafka on the other; paced runs and stdin run it in-process. Either way
 * it only talks through `ChunkerIo`: events out, in order, and a credit to wait for before it may
 * hand over another chunk (backpressure: at most MAX_CHUNKS_AHEAD chunks wait for their commit).
 *
 * The chunk rules are the ingester's (docs/ingestion.md): a chunk ends after `chunkRows` events +
 * refused rows (or every 250 ms when paced, or before a pacing wait), rows up to `resumeLine` are
 * validated but not sent, and the checkpoint of a chunk is its last row's line with the counts so far.
 */

export const MAX_CHUNKS_AHEAD = 2;

export interface ChunkerParams {
  source: InputSource;
  /** Rows up to this line were committed by an earlier run: validated again, not sent. */
  resumeLine: number;
  chunkRows: number;
  /** Events this run may still send (--max-events); Infinity when unlimited. */
  remaining: number;
  duplicateWindow: number;
  /** The raw --map option. */
  map: string | undefined;
  /** The row bounds of this run (INGEST_*, resolved at the run's start). */
  limits: RowLimits;
}

/** Shared with the main thread: [0] = 1 asks the chunker to stop after the current row. */
export type StopFlag = Int32Array;
/** Written by the chunker for the progress bar: rows, rejected, bytes read. */
export type ProgressCells = Float64Array;

/**
 * A chunk's events: their keys (user_id), and their JSON values end to end in one buffer (value i
 * ends at `ends[i]`), which crosses from the worker thread as a transferred ArrayBuffer.
 */
export interface ChunkEvents {
  count: number;
  keys: string[];
  values: Uint8Array;
  ends: Uint32Array;
}

export type ChunkerEvent =
  /** The header row's fields, as read (the checkpoint records them for `capline dlq replay`). */
  | { type: "header"; format: string; fields: string[] }
  /** Refused rows of the replayed part (before resumeLine): for the rejects file only. */
  | { type: "replayRejects"; rows: RejectedRow[] }
  | {
      type: "chunk";
      seq: number;
      events: ChunkEvents;
      /** Refused rows of this chunk, in file order: DLQ and rejects file. */
      rejects: RejectedRow[];
      line: number;
      done: boolean;
      counts: RowCounts;
    }
  | {
      type: "end";
      status: FileStatus;
      format: string;
      counts: RowCounts;
      lastLine: number;
      bytes: number;
      blankLines: number;
      thisRun: { sent: number; rejected: number; duplicates: number };
    }
  | { type: "error"; code: string; message: string };

export interface ChunkerIo {
  emit(event: ChunkerEvent, transfer?: ArrayBuffer[]): void;
  /** Resolves once fewer than MAX_CHUNKS_AHEAD emitted chunks await their commit. */
  credit(): Promise<void>;
  /** Only in-process: --rate / --replay-speed (its state spans the run's files). */
  pacer?: Pacer;
}

/** Text handed to the parser at a time (see chunkFile). */
const PIECE_CHARS = 64 * 1024;

/**
 * A chunk ends once its refused rows' DLQ records reach this many bytes of JSON. They are keyed by
 * the file name, so they all land in one record batch, which must stay under the broker's 1 MB
 * message limit whatever the rows (compression not counted on): a file of nothing but long bad
 * rows is sent in more transactions instead of failing.
 */
export const REJECT_BYTES_PER_CHUNK = 512 * 1024;

/** What ingest.ts adds to each refused row's DLQ record: `,"file_id":"<sha256 hex>"`, at most. */
const FILE_ID_BYTES = 96;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The events of the chunk under way: keys, and values written end to end into one buffer. */
class MessageCollector {
  keys: string[] = [];
  private buf = Buffer.allocUnsafe(1 << 20);
  private length = 0;
  private ends: number[] = [];

  append(key: string, value: string): void {
    const n = Buffer.byteLength(value);
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(value, this.length, n, "utf8");
    this.keys.push(key);
    this.ends.push(this.length);
  }

  take(): ChunkEvents {
    const values = new Uint8Array(this.length);
    values.set(this.buf.subarray(0, this.length));
    const out: ChunkEvents = {
      count: this.keys.length,
      keys: this.keys,
      values,
      ends: Uint32Array.from(this.ends),
    };
    this.keys = [];
    this.ends = [];
    this.length = 0;
    return out;
  }
}

/** Runs the reading side of one file; every outcome (errors too) leaves through `io.emit`. */
export async function runChunker(
  params: ChunkerParams,
  stop: StopFlag,
  progress: ProgressCells,
  io: ChunkerIo,
): Promise<void> {
  try {
    await chunkFile(params, stop, progress, io);
  } catch (error) {
    io.emit({
      type: "error",
      code: error instanceof CaplineError ? error.code : "INTERNAL",
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

async function chunkFile(
  params: ChunkerParams,
  stop: StopFlag,
  progress: ProgressCells,
  io: ChunkerIo,
): Promise<void> {
  const { source, resumeLine, chunkRows } = params;
  const parser = new CsvParser(params.limits.maxLineChars);
  const text = openText(source);
  const map = params.map === undefined ? undefined : parseMapOption(params.map);
  const pacer = io.pacer?.active ? io.pacer : undefined;
  const collector = new MessageCollector();
  let columns: ColumnMap | undefined;
  let validator: RowValidator | undefined;
  let rejects: RejectedRow[] = [];
  let replayRejects: RejectedRow[] = [];
  let pending = 0;
  let rejectBytes = 0;
  let chunkStarted = Date.now();
  let lastLine = resumeLine;
  let status: FileStatus = "done";
  let remaining = params.remaining;
  let seq = 0;
  const thisRun = { sent: 0, rejected: 0, duplicates: 0 };

  const flushReplayRejects = () => {
    if (replayRejects.length === 0) return;
    io.emit({ type: "replayRejects", rows: replayRejects });
    replayRejects = [];
  };

  const flush = async (done: boolean): Promise<void> => {
    if (!validator) return;
    await io.credit();
    flushReplayRejects();
    const events = collector.take();
    const transfer = [events.values.buffer as ArrayBuffer];
    io.emit(
      {
        type: "chunk",
        seq: seq++,
        events,
        rejects,
        line: lastLine,
        done,
        counts: structuredClone(validator.counts),
      },
      transfer,
    );
    rejects = [];
    pending = 0;
    rejectBytes = 0;
    chunkStarted = Date.now();
  };

  const shouldGoOn = (): boolean => {
    if (remaining <= 0) {
      status = "stopped";
      return false;
    }
    if (Atomics.load(stop, 0) !== 0) {
      status = "interrupted";
      return false;
    }
    return true;
  };

  /** After a row is done: ends the chunk when it is full (or paced), then asks whether to go on. */
  const afterRow = (line: number): boolean | Promise<boolean> => {
    lastLine = line;
    const paced = pacer !== undefined && Date.now() - chunkStarted > 250;
    if (pending >= chunkRows || paced || rejectBytes >= REJECT_BYTES_PER_CHUNK)
      return flush(false).then(shouldGoOn);
    return shouldGoOn();
  };

  const pacedEvent = async (
    line: number,
    key: string,
    value: string,
    eventTime: string,
  ): Promise<boolean> => {
    const wait = (pacer as Pacer).delayFor(eventTime);
    if (wait > 0) {
      if (pending > 0) await flush(false);
      await sleep(wait);
    }
    collector.append(key, value);
    pending++;
    thisRun.sent++;
    remaining--;
    return afterRow(line);
  };

  /**
   * One row: true to go on, false to stop. Synchronous unless the row ends a chunk or waits for
   * the pacer (a promise then): an await per row costs a promise and a microtask a million times.
   */
  const onRecord = (record: CsvRecord): boolean | Promise<boolean> => {
    if (!columns || !validator) {
      if (record.broken !== undefined) {
        throw new CaplineError(
          "INPUT_INVALID",
          `${source.name}: the header row is unreadable (${record.broken})`,
        );
      }
      columns = resolveHeader(record.fields, source.name, map);
      parser.setExpectedFields(columns.columns);
      validator = new RowValidator(columns, source.name, params.duplicateWindow, params.limits);
      validator.checkCharacters = text.suspect();
      io.emit({ type: "header", format: columns.format, fields: record.fields });
      if (lastLine === 0) lastLine = record.line;
      return true;
    }
    const outcome = validator.process(record);
    if (record.line <= resumeLine) {
      if (outcome.kind === "reject") {
        replayRejects.push(outcome.row);
        if (replayRejects.length >= 1000) flushReplayRejects();
      }
      return true;
    }
    if (outcome.kind === "event") {
      if (pacer)
        return pacedEvent(record.line, outcome.event.user_id, outcome.value, outcome.event.event_time);
      collector.append(outcome.event.user_id, outcome.value);
      pending++;
      thisRun.sent++;
      remaining--;
    } else if (outcome.kind === "reject") {
      rejects.push(outcome.row);
      rejectBytes += Buffer.byteLength(JSON.stringify(outcome.row)) + FILE_ID_BYTES;
      pending++;
      thisRun.rejected++;
    } else thisRun.duplicates++;
    return afterRow(record.line);
  };

  const report = () => {
    progress[0] = validator?.counts.rows ?? 0;
    progress[1] = validator?.counts.rejected ?? 0;
    progress[2] = text.bytesRead();
  };

  let going = true;
  outer: for await (const chunk of text.chunks) {
    // The decoder flags invalid UTF-8 or a NUL before it yields the text holding it.
    if (validator && !validator.checkCharacters && text.suspect()) validator.checkCharacters = true;
    // The parser gets the text in pieces: the records of a piece live until they are handled, and
    // a whole MiB of them (about 9,000 objects with their fields) outlived the young generation.
    for (let at = 0; at < chunk.length; at += PIECE_CHARS) {
      const piece = at === 0 && chunk.length <= PIECE_CHARS ? chunk : chunk.slice(at, at + PIECE_CHARS);
      for (const record of parser.push(piece)) {
        const next = onRecord(record);
        going = next === true || next === false ? next : await next;
        if (!going) break outer;
      }
    }
    report();
  }
  if (going) {
    for (const record of parser.end()) {
      const next = onRecord(record);
      going = next === true || next === false ? next : await next;
      if (!going) break;
    }
  }
  report();
  if (!columns || !validator) {
    throw new CaplineError("INPUT_INVALID", `${source.name}: the file is empty (no header row)`);
  }
  if (going) lastLine = Math.max(lastLine, resumeLine);
  await flush(going);
  io.emit({
    type: "end",
    status,
    format: columns.format,
    counts: validator.counts,
    lastLine,
    bytes: text.bytesRead(),
    blankLines: parser.blankLines,
    thisRun,
  });
}
