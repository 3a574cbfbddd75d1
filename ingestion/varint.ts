/**
 * Kafka record encoding primitives (unsigned LEB128 varints and zigzag for signed values), shared
 * by the kafkajs fast path and the parse worker's batch builder.
 */

export const zigzag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;

export function sizeOfVarUint(u: number): number {
  let bytes = 1;
  while (u >= 0x80) {
    u >>>= 7;
    bytes++;
  }
  return bytes;
}

export function writeVarUint(buf: Buffer, offset: number, u: number): number {
  while (u >= 0x80) {
    buf[offset++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[offset++] = u;
  return offset;
}
