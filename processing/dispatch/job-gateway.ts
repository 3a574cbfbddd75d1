import { type JobsOptions, Queue, QueueEvents } from "bullmq";
import { describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/logging.ts";
import { QUEUES, rangeId } from "../../core/names.ts";
import { RANGE_JOB_OPTIONS, type RangeJobData } from "../jobs.ts";
import { settlesWithin } from "../retry.ts";
import type { OffsetRange } from "../watermark.ts";
import type { JobKind } from "./commit-ledger.ts";

/**
 * The job gateway: adds a range's archive and index jobs to BullMQ and reports how each ends.
 *
 * Completion comes from BullMQ's event stream (`QueueEvents`: `completed`, and `failed`, which
 * BullMQ emits only when a job has failed for good — an attempt that will be retried emits
 * `delayed` or `waiting`). Right after an add the job's state is read once, so a job that had
 * already finished (same id: a replayed range) is reported at once. A slow poll of the awaited
 * jobs' states (`pollMs`) is only a safety net: events written while this process was not
 * listening (a Redis outage, a trimmed stream) are not lost.
 *
 * The rule for a job that failed for good (docs/processing.md, "A job that fails for good"): it is
 * reported once (`failed`, with BullMQ's reason), counted in `stats.failed`, logged as an error,
 * and stays in BullMQ's failed set, where `capline monitor` shows it. It is not retried in a
 * loop. It is retried once when its range is dispatched again (an add finding the job failed):
 * that happens when a dispatcher (re)starts the partition, which is what an operator does after
 * fixing the cause. A job retried by hand meanwhile is reported when it completes.
 */

export type JobOutcome =
  | { kind: JobKind; data: RangeJobData; result: "completed" }
  | { kind: JobKind; data: RangeJobData; result: "failed"; reason: string }
  /** The job is gone (removed, or Redis lost its data) before it was seen to finish. */
  | { kind: JobKind; data: RangeJobData; result: "unknown" };

export interface JobGatewayOptions {
  connection: { url: string; maxRetriesPerRequest: null };
  queuePrefix: string;
  /** Safety-net poll of the awaited jobs' states. @defaultValue 5000 */
  pollMs?: number;
  /**
   * Job options: many attempts with the workers' capped backoff, so an outage slows the pipeline
   * and never drops a range; a job that can never succeed fails at once (UnrecoverableError).
   * @defaultValue JOB_OPTIONS
   */
  jobOptions?: JobsOptions;
}

/** The range jobs' options, one definition (processing/jobs.ts): bounded attempts, jittered backoff. */
export const JOB_OPTIONS: JobsOptions = RANGE_JOB_OPTIONS;

export interface GatewayStats {
  /** Jobs seen failed for good. */
  failed: number;
  /** Jobs found gone before they were seen to finish. */
  unknown: number;
}

interface Awaited {
  kind: JobKind;
  data: RangeJobData;
  /** Reported failed (not again until it changes). */
  failed: boolean;
}

const KINDS: readonly JobKind[] = ["archive", "index"];

export class JobGateway {
  readonly stats: GatewayStats = { failed: 0, unknown: 0 };
  private readonly queues: Record<JobKind, Queue<RangeJobData>>;
  private readonly events: Record<JobKind, QueueEvents>;
  private readonly awaited = new Map<string, Awaited>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly options: JobGatewayOptions,
    private readonly onOutcome: (outcome: JobOutcome) => void,
    private readonly log: Logger,
  ) {
    const common = { connection: options.connection, prefix: options.queuePrefix };
    this.queues = {
      archive: new Queue<RangeJobData>(QUEUES.archive, common),
      index: new Queue<RangeJobData>(QUEUES.index, common),
    };
    this.events = {
      archive: new QueueEvents(QUEUES.archive, common),
      index: new QueueEvents(QUEUES.index, common),
    };
    for (const kind of KINDS) {
      const events = this.events[kind];
      events.on("completed", ({ jobId }) => this.completed(kind, jobId));
      events.on("failed", ({ jobId, failedReason }) => this.failedForGood(kind, jobId, failedReason));
      events.on("error", (error) =>
        this.log.warn({ queue: kind, error: describeError(error) }, "job events"),
      );
    }
  }

  /** Listening before the first add: no completion is missed. */
  async start(): Promise<void> {
    await Promise.all(KINDS.map((k) => this.events[k].waitUntilReady()));
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 5000);
  }

  /** Jobs added and not reported completed yet. */
  get pending(): number {
    return this.awaited.size;
  }

  /** Adds the job of a range (a no-op if a job with its id exists) and reads its state once. */
  async add(kind: JobKind, data: RangeJobData): Promise<void> {
    const id = rangeId(data);
    this.awaited.set(key(kind, id), { kind, data, failed: false });
    const queue = this.queues[kind];
    await queue.add(queue.name, data, { ...(this.options.jobOptions ?? JOB_OPTIONS), jobId: id });
    const state = await queue.getJobState(id);
    if (state === "completed") this.completed(kind, id);
    else if (state === "failed") {
      // Dispatched again (the partition was (re)started): the one retry of the rule above.
      this.log.warn({ queue: kind, job: id }, "job had failed for good; retrying it once");
      const job = await queue.getJob(id);
      await job?.retry("failed");
    }
  }

  /** Stops awaiting the jobs of these ranges and removes them (their ranges are committed). */
  async remove(ranges: readonly OffsetRange[]): Promise<void> {
    for (const range of ranges) {
      const id = rangeId(range);
      for (const kind of KINDS) {
        this.awaited.delete(key(kind, id));
        await this.queues[kind].remove(id).catch(() => 0);
      }
    }
  }

  /** Stops awaiting the jobs of a partition (revoked, or replayed: its jobs are added again). */
  forgetPartition(partition: number): void {
    for (const [k, a] of this.awaited) if (a.data.partition === partition) this.awaited.delete(k);
  }

  /** Closes the connections in at most about `budgetMs`, whatever state Redis is in. */
  async close(budgetMs = 2000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const all = [...KINDS.map((k) => this.queues[k]), ...KINDS.map((k) => this.events[k])];
    for (const part of all)
      if (!(await settlesWithin(part.close(), budgetMs / all.length)))
        void part.disconnect().catch(() => undefined);
  }

  private completed(kind: JobKind, id: string): void {
    const a = this.awaited.get(key(kind, id));
    if (!a) return;
    this.awaited.delete(key(kind, id));
    this.onOutcome({ kind, data: a.data, result: "completed" });
  }

  private failedForGood(kind: JobKind, id: string, reason: string): void {
    const a = this.awaited.get(key(kind, id));
    if (!a || a.failed) return;
    a.failed = true;
    this.stats.failed++;
    this.log.error(
      { queue: kind, job: id, reason },
      "job failed for good: its range is held (nothing past it is committed) until it is retried",
    );
    this.onOutcome({ kind, data: a.data, result: "failed", reason });
  }

  /** The safety net: the states of the awaited jobs, read in one pass. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const [k, a] of [...this.awaited]) {
        const queue = this.queues[a.kind];
        const id = rangeId(a.data);
        const state = await queue.getJobState(id);
        if (state === "completed") this.completed(a.kind, id);
        else if (state === "failed") {
          const job = await queue.getJob(id);
          this.failedForGood(a.kind, id, job?.failedReason ?? "failed");
        } else if (state === "unknown" && this.awaited.get(k) === a) {
          this.awaited.delete(k);
          this.stats.unknown++;
          this.onOutcome({ kind: a.kind, data: a.data, result: "unknown" });
        } else if (a.failed) a.failed = false;
      }
    } catch (error) {
      this.log.warn({ error: describeError(error) }, "job state poll failed; next poll retries");
    } finally {
      this.polling = false;
    }
  }
}

function key(kind: JobKind, id: string): string {
  return `${kind}:${id}`;
}
