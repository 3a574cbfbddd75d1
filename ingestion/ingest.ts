import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { Config } from "../core/config/index.ts";
import { csvCell } from "../core/csv.ts";
import { CaplineError, type ErrorCode } from "../core/errors.ts";
import { kafkaOptions, waitForKafka } from "../core/kafka/index.ts";
import { logger } from "../core/logging.ts";
import { type OutputFile, openOutputFile } from "../core/output-file.ts";
import { Progress } from "../core/progress.ts";
import { escapeControl } from "../core/redact.ts";
import type { RejectedRow } from "../core/schema/events.ts";
import {
  type ChunkEvents,
  type ChunkerEvent,
  type ChunkerParams,
  MAX_CHUNKS_AHEAD,
  type ProgressCells,
  runChunker,
  type StopFlag,
} from "./chunker.ts";
import { parseMapOption, type RowField } from "./header.ts";
import { describeSource, fileIdentity, type InputSource } from "./input.ts";
import { type Checkpoint, type ChunkMessage, IngestSink, MAX_RECORDED_HEADER_CHARS } from "./kafka-sink.ts";
import { writeOpsRecord } from "./ops-record.ts";
import { Pacer } from "./pacer.ts";
import { DEFAULT_DUPLICATE_WINDOW, emptyCounts, type RowCounts, type RowLimits, rowLimits } from "./rows.ts";
import type { FileSummary, IngestOptions, IngestSummary } from "./types.ts";

/**
 * Rows per Kafka transaction. 20,000 rather than 50,000 since the move to @platformatic/kafka:
 * the client builds every record of a send as objects of its own, and a smaller transaction keeps
 * fewer of them alive at once (peak RSS about 100 MiB lower on the 885,129-row file, CPU and
 * throughput the same; BENCHMARKS.md). Each transaction adds a few round trips and one checkpoint
 * record.
 */
export const DEFAULT_CHUNK_ROWS = 20_000;

/** The parse worker's young generation (V8 new space), in MiB. */
const PARSE_WORKER_YOUNG_MB = 12;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The --rejects CSV: `file,line,reason,detail,raw`, formula-safe like the report CSV (a raw row
 * `=HYPERLINK(...)` does not run in a spreadsheet). Opened through core/output-file.ts before
 * anything is read or sent: never one of the inputs, never through a symbolic link, never over an
 * existing file without --overwrite.
 */
class RejectsFile {
  private readonly out: OutputFile;
  constructor(path: string, inputs: readonly string[], overwrite: boolean) {
    this.out = openOutputFile(path, { flag: "--rejects", inputs, overwrite });
    this.out.write("file,line,reason,detail,raw\n");
  }
  write(row: RejectedRow): void {
    this.out.write(
      `${[csvCell(row.file), String(row.line), csvCell(row.reason), csvCell(row.detail), csvCell(row.raw)].join(",")}\n`,
    );
  }
  close(): void {
    this.out.close();
  }
}

interface RunContext {
  config: Config;
  options: IngestOptions;
  topic: string;
  dlqTopic: string;
  runId: string;
  map: Map<string, RowField> | undefined;
  rejects: RejectsFile | undefined;
  /** The row bounds, resolved once for the run (a relative INGEST_EVENT_TIME_MAX counts from its start). */
  limits: RowLimits;
  /** Events still allowed by --max-events. */
  remaining: number;
  pacer: Pacer;
}

export async function runIngest(config: Config, options: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const topic = options.topic ?? config.kafka.topic;
  const dlqTopic = options.dlqTopic ?? config.kafka.dlqTopic;
  const sources = options.files.map(describeSource);
  if (sources.filter((s) => s.isStdin).length > 1) {
    throw new CaplineError("USAGE", "stdin (-) can be given only once");
  }
  const ctx: RunContext = {
    config,
    options,
    topic,
    dlqTopic,
    runId: randomUUID(),
    map: options.map === undefined ? undefined : parseMapOption(options.map),
    rejects: undefined,
    limits: rowLimits(config.ingest, started),
    remaining: options.maxEvents ?? Number.POSITIVE_INFINITY,
    pacer: new Pacer(options.rate, options.replaySpeed),
  };
  // Before Kafka is even asked: a refused --rejects path stops the run with nothing sent.
  ctx.rejects =
    options.rejects === undefined
      ? undefined
      : new RejectsFile(options.rejects, options.files, options.overwrite === true);
  const files: FileSummary[] = [];
  try {
    await waitForKafka(kafkaOptions(config));
    for (const source of sources) {
      if (options.signal?.aborted || ctx.remaining <= 0) break;
      const summary = await ingestFile(ctx, source);
      files.push(summary);
      await writeOpsRecord(config, ctx.runId, topic, summary);
    }
  } finally {
    ctx.rejects?.close();
  }
  const totals = emptyCounts();
  for (const f of files) {
    totals.rows += f.rows;
    totals.sent += f.sent;
    totals.rejected += f.rejected;
    totals.duplicates += f.duplicates;
    for (const [reason, n] of Object.entries(f.rejectedByReason)) {
      totals.rejectedByReason[reason as keyof RowCounts["rejectedByReason"]] += n;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    ok: true,
    runId: ctx.runId,
    topic,
    dlqTopic,
    ...totals,
    seconds,
    rowsPerSecond: Math.round(totals.rows / Math.max(seconds, 0.001)),
    files,
  };
}

async function ingestFile(ctx: RunContext, source: InputSource): Promise<FileSummary> {
  const log = logger("ingest");
  const started = Date.now();
  const worker =
    !source.isStdin && !ctx.pacer.active && ctx.options.parseWorker !== false
      ? startParseWorker()
      : undefined;
  try {
    return await ingestWith(ctx, source, worker, log, started);
  } finally {
    await worker?.dispose();
  }
}

async function ingestWith(
  ctx: RunContext,
  source: InputSource,
  worker: ParseWorker | undefined,
  log: ReturnType<typeof logger>,
  started: number,
): Promise<FileSummary> {
  const fileId = source.isStdin ? `stdin-${ctx.runId}` : await fileIdentity(source.path);
  const sink = new IngestSink(ctx.config, {
    topic: ctx.topic,
    dlqTopic: ctx.dlqTopic,
    fileId,
  });
  try {
    await sink.open();
    const previous = source.isStdin ? undefined : await sink.readCheckpoint();
    if (previous?.done && !ctx.options.force) {
      return {
        file: source.name,
        fileId,
        status: "already_ingested",
        format: undefined,
        ...previous.counts,
        seconds: 0,
        rowsPerSecond: 0,
        resumedFromLine: previous.line,
        lastLine: previous.line,
        bytes: 0,
        mbPerSecond: 0,
        blankLines: 0,
        transactions: 0,
        thisRun: { sent: 0, rejected: 0, duplicates: 0 },
        ingestedAt: previous.at,
      };
    }
    const resumeLine = previous && !previous.done && !ctx.options.force ? previous.line : 0;
    if (resumeLine > 0)
      log.info({ file: source.name, line: resumeLine }, "resuming after the last committed line");
    const result = await streamFile(ctx, source, fileId, sink, resumeLine, previous, worker);
    const seconds = (Date.now() - started) / 1000;
    return {
      ...result,
      seconds,
      rowsPerSecond: Math.round(result.rows / Math.max(seconds, 0.001)),
      mbPerSecond: Number((result.bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(2)),
      transactions: sink.transactions,
    };
  } finally {
    await sink.close();
  }
}

type StreamResult = Omit<FileSummary, "seconds" | "rowsPerSecond" | "mbPerSecond" | "transactions">;

/** The chunker's events, whether it runs in a worker thread or in-process. */
interface ChunkerChannel {
  next(): Promise<ChunkerEvent>;
  /** One more chunk committed: the chunker may hand over another. */
  ack(): void;
  close(): Promise<void>;
}

/** An unbounded FIFO of events with an awaiting reader (the chunker's credit bounds it). */
class EventQueue {
  private readonly items: ChunkerEvent[] = [];
  private waiter: ((item: ChunkerEvent) => void) | undefined;
  push(item: ChunkerEvent): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(item);
    } else this.items.push(item);
  }
  next(): Promise<ChunkerEvent> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/**
 * Compiled (dist/), the worker is plain JavaScript; from the TypeScript sources (tests, benchmarks
 * under tsx) worker threads do not inherit the loader, so a small entry registers tsx first.
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./parse-worker.mjs" : "./parse-worker.js",
  import.meta.url,
);

/** A parse worker started ahead of its file: loading its code takes about half a second. */
interface ParseWorker {
  /** Hands the worker its file; its events come through the channel. */
  begin(params: ChunkerParams, stop: StopFlag, progress: ProgressCells): ChunkerChannel;
  dispose(): Promise<void>;
}

/**
 * Parsing, validation and encoding in a worker thread: the main thread keeps Kafka's side (one
 * core each on a two-core machine; BENCHMARKS.md). Values come back as transferred buffers. The
 * worker starts at once and loads while the main thread hashes the file and sets Kafka up.
 */
function startParseWorker(): ParseWorker {
  const queue = new EventQueue();
  // A small young generation: the parser's garbage dies young (its records live one 64 KiB piece),
  // and V8's default on a large machine (up to 64 MiB of new space) only grows the process:
  // measured on the 885,129-row file, peak RSS 720 → about 510-630 MiB, CPU no higher (BENCHMARKS.md).
  const worker = new Worker(WORKER_URL, {
    resourceLimits: { maxYoungGenerationSizeMb: PARSE_WORKER_YOUNG_MB },
  });
  let ended = false;
  worker.on("message", (event: ChunkerEvent) => {
    if (event.type === "end" || event.type === "error") ended = true;
    queue.push(event);
  });
  worker.on("error", (error) => {
    ended = true;
    queue.push({ type: "error", code: "INTERNAL", message: `parse worker failed: ${error.message}` });
  });
  worker.on("exit", (code) => {
    if (!ended) queue.push({ type: "error", code: "INTERNAL", message: `parse worker exited (${code})` });
  });
  const dispose = async () => {
    ended = true;
    await worker.terminate();
  };
  return {
    begin(params, stop, progress) {
      worker.postMessage({ type: "start", params, stop, progress });
      return { next: () => queue.next(), ack: () => worker.postMessage({ type: "ack" }), close: dispose };
    },
    dispose,
  };
}

/** The same chunker on this thread: paced runs (the pacer spans the run's files) and stdin. */
function inProcessChannel(
  params: ChunkerParams,
  stop: StopFlag,
  progress: ProgressCells,
  pacer: Pacer,
): ChunkerChannel {
  const queue = new EventQueue();
  let posted = 0;
  let acked = 0;
  let wake: (() => void) | undefined;
  const running = runChunker(params, stop, progress, {
    pacer,
    emit(event) {
      if (event.type === "chunk") posted++;
      queue.push(event);
    },
    async credit() {
      while (posted - acked >= MAX_CHUNKS_AHEAD) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  });
  return {
    next: () => queue.next(),
    ack: () => {
      acked++;
      wake?.();
    },
    close: async () => {
      // A chunker still waiting for credit (the commit failed) is abandoned with its file handle
      // closed by the stop flag on its next row; it holds nothing else.
      Atomics.store(stop, 0, 1);
      acked = Number.POSITIVE_INFINITY;
      wake?.();
      await Promise.race([running, sleep(0)]);
    },
  };
}

/** The chunk's events as messages: values are views of the one transferred buffer (no copy). */
function toMessages(events: ChunkEvents): ChunkMessage[] {
  const out: ChunkMessage[] = new Array(events.count);
  const base = Buffer.from(events.values.buffer, events.values.byteOffset, events.values.byteLength);
  let start = 0;
  for (let i = 0; i < events.count; i++) {
    const end = events.ends[i] as number;
    out[i] = { key: events.keys[i] as string, value: base.subarray(start, end) };
    start = end;
  }
  return out;
}

async function streamFile(
  ctx: RunContext,
  source: InputSource,
  fileId: string,
  sink: IngestSink,
  resumeLine: number,
  previous: Checkpoint | undefined,
  worker: ParseWorker | undefined,
): Promise<StreamResult> {
  const params: ChunkerParams = {
    source,
    resumeLine,
    chunkRows: ctx.options.chunkRows ?? DEFAULT_CHUNK_ROWS,
    remaining: ctx.remaining,
    duplicateWindow: ctx.options.duplicateWindow ?? DEFAULT_DUPLICATE_WINDOW,
    map: ctx.options.map,
    limits: ctx.limits,
  };
  const stop: StopFlag = new Int32Array(new SharedArrayBuffer(4));
  const cells: ProgressCells = new Float64Array(new SharedArrayBuffer(3 * 8));
  const progress = new Progress({ label: `ingest ${escapeControl(source.name)}`, totalBytes: source.size });
  const drawProgress = (force = false) =>
    progress.update({ done: cells[0] ?? 0, bytes: cells[2] ?? 0, extra: { rejected: cells[1] ?? 0 } }, force);
  const onAbort = () => Atomics.store(stop, 0, 1);
  ctx.options.signal?.addEventListener("abort", onAbort);
  if (ctx.options.signal?.aborted) onAbort();
  const ticker = setInterval(() => drawProgress(), 200);
  ticker.unref();
  const channel = worker
    ? worker.begin(params, stop, cells)
    : inProcessChannel(params, stop, cells, ctx.pacer);
  const rejectKey = source.name;
  let header: string[] | undefined;
  try {
    for (;;) {
      const event = await channel.next();
      if (event.type === "error") throw new CaplineError(event.code as ErrorCode, event.message);
      if (event.type === "header") {
        const chars = event.fields.reduce((n, f) => n + f.length, 0);
        header = chars <= MAX_RECORDED_HEADER_CHARS ? event.fields : undefined;
        continue;
      }
      if (event.type === "replayRejects") {
        for (const row of event.rows) ctx.rejects?.write(row);
        continue;
      }
      if (event.type === "chunk") {
        for (const row of event.rejects) ctx.rejects?.write(row);
        await sink.commit({
          events: toMessages(event.events),
          // The file's identity with each refused row: `capline dlq replay` finds the file's header
          // (in its checkpoint) and recognises a row refused again by a --force re-ingest by it.
          rejects: event.rejects.map((row) => ({
            key: rejectKey,
            value: JSON.stringify({ ...row, file_id: fileId }),
          })),
          checkpoint: {
            v: 1,
            fileId,
            file: source.name,
            line: event.line,
            done: event.done,
            counts: event.counts,
            runId: ctx.runId,
            at: new Date().toISOString(),
            ...(header ? { header } : {}),
            ...(ctx.options.map !== undefined ? { map: ctx.options.map } : {}),
          },
        });
        channel.ack();
        drawProgress();
        continue;
      }
      ctx.remaining -= event.thisRun.sent;
      if (previous && resumeLine > 0 && event.status === "done") {
        logger("ingest").debug({ file: source.name, previous: previous.counts }, "resumed file finished");
      }
      return {
        file: source.name,
        fileId,
        status: event.status,
        format: event.format,
        ...event.counts,
        resumedFromLine: resumeLine,
        lastLine: event.lastLine,
        bytes: event.bytes,
        blankLines: event.blankLines,
        thisRun: event.thisRun,
      };
    }
  } finally {
    clearInterval(ticker);
    ctx.options.signal?.removeEventListener("abort", onAbort);
    await channel.close();
    drawProgress(true);
    progress.done();
  }
}
