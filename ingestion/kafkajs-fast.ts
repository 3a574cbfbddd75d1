import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gzip as gzipCallback, unzip as unzipCallback } from "node:zlib";
import type * as Kafkajs from "kafkajs";
import { logger } from "../core/logging.ts";
import { sizeOfVarUint, writeVarUint, zigzag } from "./varint.ts";

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

interface ProduceMessage {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  timestamp?: number | string | null;
  headers?: Record<string, unknown>;
}

interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
  }[];
}

interface KafkajsEncoder {
  buf: Buffer;
  buffer: Buffer;
  size(): number;
  writeInt8(v: number): KafkajsEncoder;
  writeInt16(v: number): KafkajsEncoder;
  writeInt32(v: number): KafkajsEncoder;
  writeUInt32(v: number): KafkajsEncoder;
  writeInt64(v: unknown): KafkajsEncoder;
  writeString(v: string | null): KafkajsEncoder;
  writeBytes(v: Buffer): KafkajsEncoder;
  writeBuffer(v: Buffer): KafkajsEncoder;
  writeEncoder(v: KafkajsEncoder): KafkajsEncoder;
  writeArray(v: KafkajsEncoder[]): KafkajsEncoder;
}

export interface ProduceDeps {
  Encoder: new () => KafkajsEncoder;
  Long: {
    fromInt(v: number): unknown;
    fromValue(v: unknown): { getHighBits(): number; getLowBits(): number };
  };
  crc32C: (buffer: Buffer) => number;
  lookupCodec: (type: number) => { compress(encoder: KafkajsEncoder): Promise<Buffer> } | null;
  apiKey: number;
}

type ProduceRequestFn = (args: ProduceArgs) => unknown;

/** Bytes of a partition's entry before the CRC-covered body: partition .. crc. */
const BATCH_HEAD = 29;
/** The CRC-covered body header: attributes .. record count. */
const BODY_HEAD = 40;

function writeInt64(buf: Buffer, offset: number, value: number): number {
  buf.writeInt32BE(Math.floor(value / 2 ** 32), offset);
  return buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** CRC-32C tables for slicing by 8 (eight bytes per step instead of kafkajs's one). */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32C (Castagnoli) of `buf`, continuing from `previous` (the CRC of the bytes before it), as
 * kafkajs's crc32C computes it (tested equal) at about four times its speed.
 */
export function crc32c(buf: Uint8Array, previous = 0): number {
  const t = CRC_TABLES;
  let crc = ~previous;
  const n = buf.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a =
      ((buf[i] as number) |
        ((buf[i + 1] as number) << 8) |
        ((buf[i + 2] as number) << 16) |
        ((buf[i + 3] as number) << 24)) ^
      crc;
    const b =
      (buf[i + 4] as number) |
      ((buf[i + 5] as number) << 8) |
      ((buf[i + 6] as number) << 16) |
      ((buf[i + 7] as number) << 24);
    crc =
      (t[1792 + (a & 0xff)] as number) ^
      (t[1536 + ((a >>> 8) & 0xff)] as number) ^
      (t[1280 + ((a >>> 16) & 0xff)] as number) ^
      (t[1024 + (a >>> 24)] as number) ^
      (t[768 + (b & 0xff)] as number) ^
      (t[512 + ((b >>> 8) & 0xff)] as number) ^
      (t[256 + ((b >>> 16) & 0xff)] as number) ^
      (t[b >>> 24] as number);
  }
  for (; i < n; i++) crc = (t[(crc ^ (buf[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** A partition's messages that stand for one finished record batch (see record-batch.ts). */
interface EncodedMessages {
  encodedBatch?: { count: number; codec: number; records: Uint8Array };
}

/** The records of one partition, encoded as kafkajs's record encoder would, into one Buffer. */
function encodeRecords(messages: ProduceMessage[]): Buffer {
  const n = messages.length;
  const keys: (string | Buffer | undefined)[] = new Array(n);
  const values: (string | Buffer | undefined)[] = new Array(n);
  const keyLens = new Int32Array(n);
  const valueLens = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i] as ProduceMessage;
    const key =
      m.key === null || m.key === undefined ? undefined : Buffer.isBuffer(m.key) ? m.key : String(m.key);
    const value =
      m.value === null || m.value === undefined
        ? undefined
        : Buffer.isBuffer(m.value)
          ? m.value
          : String(m.value);
    const kl = key === undefined ? -1 : Buffer.isBuffer(key) ? key.length : Buffer.byteLength(key);
    const vl = value === undefined ? -1 : Buffer.isBuffer(value) ? value.length : Buffer.byteLength(value);
    keys[i] = key;
    values[i] = value;
    keyLens[i] = kl;
    valueLens[i] = vl;
    const body =
      1 +
      1 +
      sizeOfVarUint(zigzag(i)) +
      sizeOfVarUint(zigzag(kl)) +
      Math.max(kl, 0) +
      sizeOfVarUint(zigzag(vl)) +
      Math.max(vl, 0) +
      1;
    total += sizeOfVarUint(zigzag(body)) + body;
  }
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const kl = keyLens[i] as number;
    const vl = valueLens[i] as number;
    const body =
      1 +
      1 +
      sizeOfVarUint(zigzag(i)) +
      sizeOfVarUint(zigzag(kl)) +
      Math.max(kl, 0) +
      sizeOfVarUint(zigzag(vl)) +
      Math.max(vl, 0) +
      1;
    o = writeVarUint(buf, o, zigzag(body));
    buf[o++] = 0; // attributes
    buf[o++] = 0; // timestamp delta 0 (zigzag)
    o = writeVarUint(buf, o, zigzag(i));
    o = writeVarUint(buf, o, zigzag(kl));
    const key = keys[i];
    if (kl > 0 && key !== undefined)
      o += Buffer.isBuffer(key) ? key.copy(buf, o) : buf.write(key, o, kl, "utf8");
    o = writeVarUint(buf, o, zigzag(vl));
    const value = values[i];
    if (vl > 0 && value !== undefined)
      o += Buffer.isBuffer(value) ? value.copy(buf, o) : buf.write(value, o, vl, "utf8");
    buf[o++] = 0; // no headers
  }
  return buf;
}

/**
 * kafkajs's Produce v3 request (v4-v7 reuse it), building each partition's record batch in one pass
 * instead of one object spread, one record encoder and two copies per message. Same bytes (tested);
 * messages with their own timestamp or headers go through kafkajs's code.
 */
export function createFastProduceRequest(original: ProduceRequestFn, deps: ProduceDeps): ProduceRequestFn {
  const { Encoder, Long, lookupCodec, apiKey } = deps;
  return (args) => {
    const plain = args.topicData.every((t) =>
      t.partitions.every(
        (p) =>
          (p.messages as EncodedMessages).encodedBatch !== undefined ||
          p.messages.every(
            (m) =>
              (m.timestamp === null || m.timestamp === undefined) &&
              (m.headers === undefined || m.headers === null || Object.keys(m.headers).length === 0),
          ),
      ),
    );
    if (!plain) return original(args);
    const {
      acks,
      timeout,
      transactionalId = null,
      producerId = Long.fromInt(-1),
      producerEpoch = 0,
      compression = 0,
      topicData,
    } = args;
    const encodePartition = async (partition: number, messages: ProduceMessage[], firstSequence = 0) => {
      const now = Date.now();
      // A batch finished by the parse worker: its records are encoded and compressed already.
      const encoded = (messages as EncodedMessages).encodedBatch;
      const count = encoded ? encoded.count : messages.length;
      const codec = encoded ? encoded.codec : compression;
      const attributes = (codec & 0x07) | (transactionalId ? 16 : 0);
      let records: Buffer;
      if (encoded)
        records = Buffer.from(encoded.records.buffer, encoded.records.byteOffset, encoded.records.byteLength);
      else if (compression === 0) records = encodeRecords(messages);
      else {
        const codec = lookupCodec(compression);
        if (!codec) throw new Error(`kafkajs has no codec for compression ${compression}`);
        records = await codec.compress(new Encoder().writeBuffer(encodeRecords(messages)));
      }
      // partition, record set size, then the batch: base offset, length, leader epoch, magic, crc,
      // and the CRC-covered body header (attributes ... record count) before the records.
      const head = Buffer.allocUnsafe(BATCH_HEAD + BODY_HEAD);
      const batchLength = 4 + 1 + 4 + BODY_HEAD + records.length;
      head.writeInt32BE(partition, 0);
      head.writeInt32BE(8 + 4 + batchLength, 4);
      head.writeInt32BE(0, 8); // base offset (int64) 0
      head.writeInt32BE(0, 12);
      head.writeInt32BE(batchLength, 16);
      head.writeInt32BE(0, 20); // partition leader epoch
      head.writeInt8(2, 24); // magic
      let o = BATCH_HEAD;
      o = head.writeInt16BE(attributes, o);
      o = head.writeInt32BE(count - 1, o);
      o = writeInt64(head, o, now); // first timestamp
      o = writeInt64(head, o, now); // max timestamp
      const pid = Long.fromValue(producerId);
      o = head.writeInt32BE(pid.getHighBits(), o);
      o = head.writeInt32BE(pid.getLowBits(), o);
      o = head.writeInt16BE(producerEpoch, o);
      o = head.writeInt32BE(firstSequence, o);
      head.writeInt32BE(count, o);
      head.writeUInt32BE(crc32c(records, crc32c(head.subarray(BATCH_HEAD))), 25);
      return [head, records];
    };
    return {
      apiKey,
      apiVersion: 3,
      apiName: "Produce",
      expectResponse: () => acks !== 0,
      // One exact-size buffer for the whole request: kafkajs's encoders copy a batch once per
      // nesting level into zero-filled, power-of-two buffers (six copies of every batch).
      encode: async () => {
        const parts: Buffer[] = [
          new Encoder()
            .writeString(transactionalId)
            .writeInt16(acks)
            .writeInt32(timeout)
            .writeInt32(topicData.length).buffer,
        ];
        for (const { topic, partitions } of topicData) {
          parts.push(new Encoder().writeString(topic).writeInt32(partitions.length).buffer);
          for (const p of partitions)
            parts.push(...(await encodePartition(p.partition, p.messages, p.firstSequence)));
        }
        const out = Buffer.concat(parts);
        // What kafkajs's request framing reads of an Encoder.
        return { buf: out, buffer: out, size: () => out.length };
      },
    };
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
    const originalProduce = require(producePath) as ProduceRequestFn;
    const produceModule = require.cache[producePath] as NodeJS.Module | undefined;
    if (!produceModule) throw new Error("kafkajs produce module not in the require cache");
    produceModule.exports = createFastProduceRequest(originalProduce, produceDeps(root));
    installed = true;
  } catch (error) {
    log.debug({ error: String(error) }, "kafkajs record encoder left as is");
    installed = false;
  }
  return installed;
}

export function produceDeps(root = dirname(require.resolve("kafkajs/package.json"))): ProduceDeps {
  const src = join(root, "src");
  return {
    Encoder: require(join(src, "protocol", "encoder.js")) as ProduceDeps["Encoder"],
    Long: require(join(src, "utils", "long.js")) as ProduceDeps["Long"],
    crc32C: require(join(src, "protocol", "recordBatch", "crc32C", "index.js")) as ProduceDeps["crc32C"],
    lookupCodec: (
      require(join(src, "protocol", "message", "compression", "index.js")) as {
        lookupCodec: ProduceDeps["lookupCodec"];
      }
    ).lookupCodec,
    apiKey: (require(join(src, "protocol", "requests", "apiKeys.js")) as { Produce: number }).Produce,
  };
}

/** kafkajs's own Produce v3 request, for the equivalence test. */
export function originalProduceRequest(): ProduceRequestFn {
  const root = dirname(require.resolve("kafkajs/package.json"));
  const path = join(root, "src", "protocol", "requests", "produce", "v3", "request.js");
  const recordPath = join(root, "src", "protocol", "recordBatch", "record", "v0", "index.js");
  const saved = require.cache[path];
  const savedRecord = require.cache[recordPath];
  delete require.cache[path];
  delete require.cache[recordPath];
  const fn = require(path) as ProduceRequestFn;
  if (saved) require.cache[path] = saved;
  else delete require.cache[path];
  if (savedRecord) require.cache[recordPath] = savedRecord;
  else delete require.cache[recordPath];
  return fn;
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
