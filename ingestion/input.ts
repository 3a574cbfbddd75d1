import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { CaplineError } from "../core/errors.ts";
import { Utf8Decoder } from "./utf8.ts";

/** Where rows come from: a file path, or `-` for standard input. */
export interface InputSource {
  /** As the user gave it (`-` for stdin). */
  path: string;
  /** The name written into events and rejects: the path, or `stdin`. */
  name: string;
  /** Size in bytes on disk (undefined for stdin): drives the progress bar's ETA. */
  size: number | undefined;
  isStdin: boolean;
}

const READ_CHUNK = 1 << 20;

export function describeSource(path: string): InputSource {
  if (path === "-") return { path, name: "stdin", size: undefined, isStdin: true };
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (error) {
    throw new CaplineError("INPUT_INVALID", `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { path, name: path, size, isStdin: false };
}

/**
 * The content identity of a file: sha256 of its bytes as stored (compressed bytes for `.gz`).
 * Hashing first costs one extra sequential read (about 1 GB/s here with SHA-NI), a few percent of
 * an ingest; a cheaper fingerprint (size + first/last MiB) would take a file edited in the middle
 * (a fixed row of the same length) for one already ingested.
 */
export async function fileIdentity(path: string): Promise<string> {
  const hash = createHash("sha256");
  const stream = createReadStream(path, { highWaterMark: 4 * READ_CHUNK });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (error) {
    throw new CaplineError("INPUT_INVALID", `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return hash.digest("hex");
}

function isGzipFile(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export interface TextChunks {
  /** Decoded UTF-8 text, in order. */
  chunks: AsyncIterable<string>;
  /** Bytes read from the source so far (compressed bytes for gzip): progress and MB/s. */
  bytesRead: () => number;
  /**
   * True once the text had invalid UTF-8 (decoded as INVALID_MARK) or a NUL byte: from then on the
   * validator checks each row's characters. Set before the text that caused it is yielded.
   */
  suspect: () => boolean;
}

/**
 * Decoded text of a file or stdin, gzip detected by its magic bytes (whatever the name); invalid
 * UTF-8 is marked, not silently replaced (ingestion/utf8.ts). The
 * consumer pulls chunks, so a slow Kafka slows the reading: memory stays constant on any size.
 */
export function openText(source: InputSource): TextChunks {
  let raw: Readable;
  let gzip: boolean;
  let counted = 0;
  if (source.isStdin) {
    raw = process.stdin;
    gzip = false; // decided on the first chunk below
  } else {
    gzip = isGzipFile(source.path);
    raw = createReadStream(source.path, { highWaterMark: READ_CHUNK });
  }
  const path = source.path;
  const utf8 = new Utf8Decoder();
  async function* decode(): AsyncGenerator<string> {
    const decoder = utf8;
    let input: AsyncIterable<Buffer> = raw as AsyncIterable<Buffer>;
    if (source.isStdin)
      input = sniffGzip(raw, (n) => {
        counted += n;
      });
    else if (gzip) input = gunzip(raw);
    try {
      for await (const buf of input) {
        const text = decoder.write(buf);
        if (text.length > 0) yield text;
      }
    } catch (error) {
      if (error instanceof CaplineError) throw error;
      throw new CaplineError("INPUT_INVALID", `cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const rest = decoder.end();
    if (rest.length > 0) yield rest;
  }
  const file = raw as Readable & { bytesRead?: number };
  return {
    chunks: decode(),
    bytesRead: () => (source.isStdin ? counted : (file.bytesRead ?? 0)),
    suspect: () => utf8.suspect,
  };
}

function gunzip(raw: Readable): AsyncIterable<Buffer> {
  const gz = createGunzip({ chunkSize: READ_CHUNK });
  raw.on("error", (error) => gz.destroy(error));
  raw.pipe(gz);
  return gz;
}

/** Standard input cannot be peeked before reading: decide on gzip with its first chunk. */
async function* sniffGzip(raw: Readable, count: (n: number) => void): AsyncGenerator<Buffer> {
  const source = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const it = {
    next: async () => {
      const r = await source.next();
      if (!r.done) count(r.value.length);
      return r;
    },
  };
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const pass = new PassThrough();
    const gz = createGunzip({ chunkSize: READ_CHUNK });
    pass.on("error", (error) => gz.destroy(error));
    pass.pipe(gz);
    (async () => {
      pass.write(head);
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (!pass.write(r.value)) await new Promise((resolve) => pass.once("drain", resolve));
      }
      pass.end();
    })().catch((error: unknown) => pass.destroy(error as Error));
    yield* gz as AsyncIterable<Buffer>;
    return;
  }
  yield head;
  for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
}
