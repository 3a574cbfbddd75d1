import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import { compressFrame } from "lz4-napi";
import { sizeOfVarUint, writeVarUint, zigzag } from "./varint.ts";

/**
 * The records of one Kafka record batch (magic v2), written as they arrive, in exactly the bytes
 * kafkajs's record encoder writes (timestamp delta 0, offset delta = position in the batch, no
 * headers), then compressed. The parse worker builds these so the main thread never sees a row:
 * it only puts each batch's header around them (producer id, epoch and sequence are known only at
 * send time, and lie outside the compressed part). A unit test compares the bytes with kafkajs's.
 * Compression happens on the main thread's side (`compressBatch`, in libuv's thread pool): the
 * worker's core is the busier one.
 */

/** Kafka's codec ids (the low three bits of a batch's attributes). */
export const CODEC_NONE = 0;
export const CODEC_GZIP = 1;
export const CODEC_LZ4 = 3;

/** A finished batch of one partition: `records` compressed with `codec` (none as the worker hands it over). */
export interface EncodedBatch {
  partition: number;
  count: number;
  codec: number;
  records: Uint8Array;
}

/**
 * A batch ends before it would pass this many records or raw bytes. The broker refuses a batch
 * over message.max.bytes (1,048,588 bytes by default) after compression; event JSON shrinks about
 * 4.4 times with LZ4, but nothing guarantees it does (long unique brands, other exports), and LZ4
 * can even grow incompressible data by 0.4 %. 960 KiB raw stays under the limit whatever the
 * content; the price is a few more produce requests per chunk (BENCHMARKS.md). A single record
 * larger than this still goes, alone in its batch.
 */
export const MAX_BATCH_RECORDS = 10_000;
export const MAX_BATCH_BYTES = 960 << 10;

const gzip = promisify(gzipCallback);

/** The batch compressed for the wire (gzip level 1: docs/ingestion.md), in libuv's thread pool. */
export async function compressBatch(batch: EncodedBatch, codec = CODEC_LZ4): Promise<EncodedBatch> {
  if (batch.codec !== CODEC_NONE || codec === CODEC_NONE) return batch;
  if (codec === CODEC_LZ4) return { ...batch, codec, records: await compressFrame(batch.records) };
  if (codec !== CODEC_GZIP) throw new Error(`unsupported codec ${codec}`);
  const records = await gzip(batch.records, { level: 1 });
  return { ...batch, codec, records };
}

/**
 * murmur2 of the key's UTF-8 bytes as Kafka's Java client (and kafkajs's default partitioner)
 * computes it, in 32-bit integer arithmetic (kafkajs uses a software 64-bit Long and a Buffer per
 * key; only the low 32 bits ever matter). Tested equal to kafkajs's on many keys.
 */
export function murmur2(key: string): number {
  let data: Buffer | undefined;
  let length = key.length;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) >= 0x80) {
      data = Buffer.from(key, "utf8");
      length = data.length;
      break;
    }
  }
  const at = data ? (i: number) => data[i] as number : (i: number) => key.charCodeAt(i);
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = at(i4) | (at(i4 + 1) << 8) | (at(i4 + 2) << 16) | (at(i4 + 3) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= at(tail + 2) << 16;
  if (rest >= 2) h ^= at(tail + 1) << 8;
  if (rest >= 1) {
    h ^= at(tail);
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition kafkajs's default partitioner gives a keyed message. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

export class BatchBuilder {
  private buf: Buffer | undefined;
  /** Capacity of the next batch's buffer: the last batch's (a batch's buffer leaves with it). */
  private capacity: number;
  private length = 0;
  /** Records in the current batch. */
  count = 0;

  constructor(
    readonly partition: number,
    initialBytes = 256 << 10,
  ) {
    this.capacity = initialBytes;
  }

  /**
   * Appends one record (key and value as UTF-8). When the record would take the batch past
   * MAX_BATCH_RECORDS or MAX_BATCH_BYTES, the batch so far is finished first and returned; the
   * record starts the next one.
   */
  append(key: string, value: string): EncodedBatch | undefined {
    const kl = Buffer.byteLength(key);
    const vl = Buffer.byteLength(value);
    const zOffset = zigzag(this.count);
    const zKey = zigzag(kl);
    const zValue = zigzag(vl);
    // attributes, timestamp delta 0, offset delta, key, value, header count 0
    const body = 2 + sizeOfVarUint(zOffset) + sizeOfVarUint(zKey) + kl + sizeOfVarUint(zValue) + vl + 1;
    const zBody = zigzag(body);
    const need = sizeOfVarUint(zBody) + body;
    if (this.count > 0 && (this.count >= MAX_BATCH_RECORDS || this.length + need > MAX_BATCH_BYTES)) {
      const finished = this.take();
      this.append(key, value);
      return finished;
    }
    let buf = this.buf ?? Buffer.allocUnsafeSlow(this.capacity);
    if (this.length + need > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, this.length + need));
      buf.copy(bigger, 0, 0, this.length);
      buf = bigger;
    }
    this.buf = buf;
    let o = writeVarUint(buf, this.length, zBody);
    buf[o++] = 0; // attributes
    buf[o++] = 0; // timestamp delta 0
    o = writeVarUint(buf, o, zOffset);
    o = writeVarUint(buf, o, zKey);
    o += buf.write(key, o, kl, "utf8");
    o = writeVarUint(buf, o, zValue);
    o += buf.write(value, o, vl, "utf8");
    buf[o++] = 0; // no headers
    this.length = o;
    this.count++;
    return undefined;
  }

  /** The records so far, uncompressed (for tests). */
  raw(): Buffer {
    return this.buf === undefined ? Buffer.alloc(0) : this.buf.subarray(0, this.length);
  }

  /**
   * Finishes the batch and starts an empty one; undefined when it holds nothing. The records keep
   * the builder's buffer (its own ArrayBuffer, never pooled: it is transferred to the main thread
   * as it is) and the builder takes a new one.
   */
  take(): EncodedBatch | undefined {
    if (this.count === 0 || this.buf === undefined) return undefined;
    const records = new Uint8Array(this.buf.buffer, 0, this.length);
    const batch: EncodedBatch = { partition: this.partition, count: this.count, codec: CODEC_NONE, records };
    this.capacity = this.buf.length;
    this.buf = undefined;
    this.length = 0;
    this.count = 0;
    return batch;
  }
}
