import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gzip as gzipCallback, unzip as unzipCallback } from "node:zlib";
import type * as Kafkajs from "kafkajs";
import { logger } from "../core/logging.ts";

/**
 * Throughput patches for kafkajs 2.2.4 (its last release; the version is pinned by the lock file).
 * Measured on the ingest benchmark (BENCHMARKS.md), kafkajs spent most of its time building one
 * `Encoder` per record: a zero-filled 512-byte Buffer, a second one when the value is longer, and
 * the 64-bit timestamp delta through a software Long. The replacement below writes the same bytes
 * (a unit test compares it with kafkajs's own encoder on many inputs) into a shared slab.
 *
 * It replaces the module kafkajs's produce request loads lazily, on the first produce of the
 * process; if something produced before the patch, the patch stands aside (slower, still correct).
 */

const require = createRequire(import.meta.url);

interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
}

type RecordFn = (args: {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, unknown>;
}) => EncodedRecord;

const SLAB_SIZE = 4 << 20;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabOffset = 0;

function take(size: number): Buffer {
  if (size > SLAB_SIZE / 4) return Buffer.allocUnsafeSlow(size);
  if (slabOffset + size > SLAB_SIZE) {
    // Earlier records keep the old slab alive until they are copied into their batch.
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabOffset = 0;
  }
  const out = slab.subarray(slabOffset, slabOffset + size);
  slabOffset += size;
  return out;
}

const zigzag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;

function sizeOfVarUint(u: number): number {
  let bytes = 1;
  while (u >= 0x80) {
    u >>>= 7;
    bytes++;
  }
  return bytes;
}

function writeVarUint(buf: Buffer, offset: number, u: number): number {
  while (u >= 0x80) {
    buf[offset++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[offset++] = u;
  return offset;
}

const SMALL = 1 << 30;

/** Encodes one record exactly as kafkajs's recordBatch/record/v0 does, for the common case. */
export function createFastRecord(original: RecordFn): RecordFn {
  return (args) => {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers } = args;
    if (
      (headers !== undefined && headers !== null && Object.keys(headers).length > 0) ||
      !Number.isInteger(timestampDelta) ||
      Math.abs(timestampDelta) >= SMALL ||
      !Number.isInteger(offsetDelta) ||
      offsetDelta < 0 ||
      offsetDelta >= SMALL
    ) {
      return original(args);
    }
    const keyText = key === null || key === undefined || Buffer.isBuffer(key) ? undefined : String(key);
    const valueText =
      value === null || value === undefined || Buffer.isBuffer(value) ? undefined : String(value);
    const keyLen =
      key === null || key === undefined
        ? -1
        : Buffer.isBuffer(key)
          ? key.length
          : Buffer.byteLength(keyText ?? "");
    const valueLen =
      value === null || value === undefined
        ? -1
        : Buffer.isBuffer(value)
          ? value.length
          : Buffer.byteLength(valueText ?? "");
    const zKey = zigzag(keyLen);
    const zValue = zigzag(valueLen);
    const zTime = zigzag(timestampDelta);
    const zOffset = zigzag(offsetDelta);
    const body =
      1 +
      sizeOfVarUint(zTime) +
      sizeOfVarUint(zOffset) +
      sizeOfVarUint(zKey) +
      Math.max(keyLen, 0) +
      sizeOfVarUint(zValue) +
      Math.max(valueLen, 0) +
      1;
    const zBody = zigzag(body);
    const buf = take(sizeOfVarUint(zBody) + body);
    let o = writeVarUint(buf, 0, zBody);
    buf[o++] = 0; // attributes
    o = writeVarUint(buf, o, zTime);
    o = writeVarUint(buf, o, zOffset);
    o = writeVarUint(buf, o, zKey);
    if (keyLen > 0)
      o += Buffer.isBuffer(key) ? key.copy(buf, o) : buf.write(keyText ?? "", o, keyLen, "utf8");
    o = writeVarUint(buf, o, zValue);
    if (valueLen > 0)
      o += Buffer.isBuffer(value) ? value.copy(buf, o) : buf.write(valueText ?? "", o, valueLen, "utf8");
    buf[o++] = 0; // no headers (zigzag(0))
    return { buf, buffer: buf };
  };
}

const gzip = promisify(gzipCallback);
const unzip = promisify(unzipCallback);

let installed: boolean | undefined;

/**
 * Installs the fast record encoder and a gzip codec at level 1 (kafkajs uses zlib's default, 6:
 * three times the CPU for about 10 % smaller batches on event JSON; BENCHMARKS.md). Returns
 * whether the record encoder is active.
 */
export function installKafkajsFastPath(): boolean {
  if (installed !== undefined) return installed;
  const log = logger("kafka");
  // Through require: Node's ESM view of kafkajs (CommonJS) does not list CompressionCodecs.
  const { CompressionCodecs, CompressionTypes } = require("kafkajs") as typeof Kafkajs;
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    compress: (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level: 1 }),
    decompress: (buffer: Buffer) => unzip(buffer),
  });
  try {
    const root = dirname(require.resolve("kafkajs/package.json"));
    const recordPath = join(root, "src", "protocol", "recordBatch", "record", "v0", "index.js");
    const producePath = join(root, "src", "protocol", "requests", "produce", "v3", "request.js");
    const version = (require("kafkajs/package.json") as { version: string }).version;
    if (version !== "2.2.4" || require.cache[producePath] !== undefined) {
      log.debug({ version }, "kafkajs record encoder left as is");
      installed = false;
      return installed;
    }
    const original = require(recordPath) as RecordFn;
    const cached = require.cache[recordPath];
    if (!cached) throw new Error("kafkajs record module not in the require cache");
    cached.exports = createFastRecord(original);
    installed = true;
  } catch (error) {
    log.debug({ error: String(error) }, "kafkajs record encoder left as is");
    installed = false;
  }
  return installed;
}

/** kafkajs's own record encoder, for the equivalence test. */
export function originalRecordEncoder(): RecordFn {
  const root = dirname(require.resolve("kafkajs/package.json"));
  const path = join(root, "src", "protocol", "recordBatch", "record", "v0", "index.js");
  const cached = require.cache[path];
  if (cached) delete require.cache[path];
  const fn = require(path) as RecordFn;
  if (cached) require.cache[path] = cached;
  else delete require.cache[path];
  return fn;
}
