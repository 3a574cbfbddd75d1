import { parentPort } from "node:worker_threads";
import { type ChunkerParams, MAX_CHUNKS_AHEAD, runChunker } from "./chunker.ts";

/**
 * Worker-thread side of an ingest (started by ingest.ts through parse-worker.mjs). It is started
 * while the main thread still hashes the file and sets Kafka up (loading this code takes about half
 * a second), waits for a "start" message with the chunker's parameters, runs the chunker on the
 * file and posts its events; the main thread answers each committed chunk with an "ack".
 */

interface StartMessage {
  type: "start";
  params: ChunkerParams;
  stop: Int32Array;
  progress: Float64Array;
}

const port = parentPort;
if (!port) throw new Error("parse-worker.ts runs only as a worker thread");

let acked = 0;
let posted = 0;
let wake: (() => void) | undefined;
let started: ((message: StartMessage) => void) | undefined;
const start = new Promise<StartMessage>((resolve) => {
  started = resolve;
});
port.on("message", (message: { type: string }) => {
  if (message.type === "start") started?.(message as StartMessage);
  else if (message.type === "ack") {
    acked++;
    wake?.();
  }
});

const { params, stop, progress } = await start;
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
