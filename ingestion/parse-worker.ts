import { parentPort, workerData } from "node:worker_threads";
import { type ChunkerParams, MAX_CHUNKS_AHEAD, runChunker } from "./chunker.ts";

/**
 * Worker-thread side of an ingest (started by ingest.ts through parse-worker.mjs): runs the chunker
 * on one file and posts its events; the main thread answers each committed chunk with an "ack".
 */

interface WorkerInput {
  params: ChunkerParams;
  stop: Int32Array;
  progress: Float64Array;
}

const port = parentPort;
if (!port) throw new Error("parse-worker.ts runs only as a worker thread");
const { params, stop, progress } = workerData as WorkerInput;

let acked = 0;
let posted = 0;
let wake: (() => void) | undefined;
port.on("message", (message: { type: string }) => {
  if (message.type === "ack") {
    acked++;
    wake?.();
  }
});

await runChunker(params, stop, progress, {
  emit(event, transfer) {
    if (event.type === "chunk") posted++;
    port.postMessage(event, transfer ?? []);
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
// The main thread ends this worker once it has read the last event.
