// Entry of the ingest's parse worker: worker threads do not inherit the TypeScript loader of the
// main thread (tsx, vitest), so the worker registers tsx itself before loading its TypeScript.
import { register } from "tsx/esm/api";

register();
await import("./parse-worker.ts");
