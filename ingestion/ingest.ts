import { randomUUID } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Message } from "kafkajs";
import type { Config } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { logger } from "../core/logging.ts";
import { Progress } from "../core/progress.ts";
import type { RejectedRow } from "../core/schema/events.ts";
import { CsvParser, type CsvRecord } from "./csv-parser.ts";
import { type ColumnMap, parseMapOption, type RowField, resolveHeader } from "./header.ts";
import { describeSource, fileIdentity, type InputSource, openText } from "./input.ts";
import { type Checkpoint, IngestSink, waitForKafka } from "./kafka-sink.ts";
import { writeOpsRecord } from "./ops-record.ts";
import { Pacer } from "./pacer.ts";
import { DEFAULT_DUPLICATE_WINDOW, emptyCounts, type RowCounts, RowValidator } from "./rows.ts";
import type { FileStatus, FileSummary, IngestOptions, IngestSummary } from "./types.ts";

export const DEFAULT_CHUNK_ROWS = 50_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

class RejectsFile {
  private readonly out: WriteStream;
  private readonly finished: Promise<void>;
  constructor(path: string) {
    this.out = createWriteStream(path);
    this.finished = new Promise((resolve, reject) => {
      this.out.on("finish", () => resolve());
      this.out.on("error", (error) =>
        reject(new CaplineError("INPUT_INVALID", `--rejects ${path}: ${error.message}`, { cause: error })),
      );
    });
    this.out.write("file,line,reason,detail,raw\n");
  }
  write(row: RejectedRow): void {
    this.out.write(`${[row.file, row.line, row.reason, row.detail, row.raw].map(csvCell).join(",")}\n`);
  }
  close(): Promise<void> {
    this.out.end();
    return this.finished;
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
    remaining: options.maxEvents ?? Number.POSITIVE_INFINITY,
    pacer: new Pacer(options.rate, options.replaySpeed),
  };
  await waitForKafka(config);
  ctx.rejects = options.rejects === undefined ? undefined : new RejectsFile(options.rejects);
  const files: FileSummary[] = [];
  try {
    for (const source of sources) {
      if (options.signal?.aborted || ctx.remaining <= 0) break;
      const summary = await ingestFile(ctx, source);
      files.push(summary);
      await writeOpsRecord(config, ctx.runId, topic, summary);
    }
  } finally {
    await ctx.rejects?.close();
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
  const fileId = source.isStdin ? `stdin-${ctx.runId}` : await fileIdentity(source.path);
  const sink = new IngestSink(ctx.config, {
    topic: ctx.topic,
    dlqTopic: ctx.dlqTopic,
    fileId,
    fastPath: ctx.options.kafkajsFastPath !== false,
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
    const result = await streamFile(ctx, source, fileId, sink, resumeLine, previous);
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

async function streamFile(
  ctx: RunContext,
  source: InputSource,
  fileId: string,
  sink: IngestSink,
  resumeLine: number,
  previous: Checkpoint | undefined,
): Promise<StreamResult> {
  const chunkRows = ctx.options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const parser = new CsvParser();
  const text = openText(source);
  const progress = new Progress({ label: `ingest ${source.name}`, totalBytes: source.size });
  let columns: ColumnMap | undefined;
  let validator: RowValidator | undefined;
  let events: Message[] = [];
  let rejects: Message[] = [];
  let chunkStarted = Date.now();
  let lastLine = resumeLine;
  let inflight: Promise<void> | undefined;
  let failure: unknown;
  let status: FileStatus = "done";
  const thisRun = { sent: 0, rejected: 0, duplicates: 0 };
  const rejectKey = source.name;

  const flush = async (done: boolean): Promise<void> => {
    if (!validator) return;
    if (inflight) await inflight;
    if (failure !== undefined) throw failure;
    const checkpoint: Checkpoint = {
      v: 1,
      fileId,
      file: source.name,
      line: lastLine,
      done,
      counts: structuredClone(validator.counts),
      runId: ctx.runId,
      at: new Date().toISOString(),
    };
    const chunk = { events, rejects, checkpoint };
    events = [];
    rejects = [];
    chunkStarted = Date.now();
    inflight = sink.commit(chunk).catch((error: unknown) => {
      failure = error;
    });
  };

  const onRecord = async (record: CsvRecord): Promise<boolean> => {
    if (!columns || !validator) {
      if (record.broken !== undefined) {
        throw new CaplineError(
          "INPUT_INVALID",
          `${source.name}: the header row is unreadable (${record.broken})`,
        );
      }
      columns = resolveHeader(record.fields, source.name, ctx.map);
      parser.setExpectedFields(columns.columns);
      validator = new RowValidator(
        columns,
        source.name,
        ctx.options.duplicateWindow ?? DEFAULT_DUPLICATE_WINDOW,
      );
      if (lastLine === 0) lastLine = record.line;
      return true;
    }
    const outcome = validator.process(record);
    const replay = record.line <= resumeLine;
    if (outcome.kind === "reject") ctx.rejects?.write(outcome.row);
    if (replay) return true;
    if (outcome.kind === "event") {
      if (ctx.pacer.active) {
        const wait = ctx.pacer.delayFor(outcome.event.event_time);
        if (wait > 0) {
          if (events.length + rejects.length > 0) await flush(false);
          await sleep(wait);
        }
      }
      // A Buffer now: the JSON string is a rope of the row's pieces; held for a whole chunk it would be
      // promoted to the old generation with all of them (most of the GC time before this change).
      events.push({ key: outcome.event.user_id, value: Buffer.from(outcome.value) });
      thisRun.sent++;
      ctx.remaining--;
    } else if (outcome.kind === "reject") {
      rejects.push({ key: rejectKey, value: JSON.stringify(outcome.row) });
      thisRun.rejected++;
    } else thisRun.duplicates++;
    lastLine = record.line;
    const paced = ctx.pacer.active && Date.now() - chunkStarted > 250;
    if (events.length + rejects.length >= chunkRows || paced) await flush(false);
    if (ctx.remaining <= 0) {
      status = "stopped";
      return false;
    }
    if (ctx.options.signal?.aborted) {
      status = "interrupted";
      return false;
    }
    return true;
  };

  let rowsSeen = 0;
  const drawProgress = (force = false) =>
    progress.update(
      {
        done: validator?.counts.rows ?? 0,
        bytes: text.bytesRead(),
        extra: { rejected: validator?.counts.rejected ?? 0 },
      },
      force,
    );
  try {
    let going = true;
    outer: for await (const chunk of text.chunks) {
      for (const record of parser.push(chunk)) {
        going = await onRecord(record);
        if (!going) break outer;
        if (++rowsSeen % 2048 === 0) drawProgress();
      }
      if (failure !== undefined) throw failure;
    }
    if (going) {
      for (const record of parser.end()) {
        going = await onRecord(record);
        if (!going) break;
      }
    }
    if (!columns || !validator) {
      throw new CaplineError("INPUT_INVALID", `${source.name}: the file is empty (no header row)`);
    }
    if (going) lastLine = Math.max(lastLine, resumeLine);
    await flush(going);
    if (inflight) await inflight;
    if (failure !== undefined) throw failure;
  } finally {
    drawProgress(true);
    progress.done();
  }
  if (previous && resumeLine > 0 && status === "done") {
    logger("ingest").debug({ file: source.name, previous: previous.counts }, "resumed file finished");
  }
  const counts = validator.counts;
  return {
    file: source.name,
    fileId,
    status,
    format: columns.format,
    ...counts,
    resumedFromLine: resumeLine,
    lastLine,
    bytes: text.bytesRead(),
    blankLines: parser.blankLines,
    thisRun,
  };
}
