import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { countPixels, decodePng } from "./png.ts";

/** Encodes RGB rows with the given filter per row (the encoder side of the spec, for the test). */
function encode(width: number, rows: number[][], filters: number[]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const byte of buf) c = (crcTable[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "ascii");
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([Buffer.from(type, "ascii"), body])), 0);
    return Buffer.concat([head, body, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(rows.length, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw: number[] = [];
  let prev = new Array<number>(width * 3).fill(0);
  rows.forEach((row, y) => {
    const f = filters[y] ?? 0;
    raw.push(f);
    row.forEach((x, i) => {
      const a = i >= 3 ? (row[i - 3] ?? 0) : 0;
      const b = prev[i] ?? 0;
      const c = i >= 3 ? (prev[i - 3] ?? 0) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f] ?? 0;
      raw.push((x - pred) & 0xff);
    });
    prev = row;
  });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.from(raw))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("decodePng", () => {
  it("undoes every filter type", () => {
    const rows = [
      [31, 119, 180, 255, 255, 255, 10, 20, 30],
      [31, 119, 180, 31, 119, 180, 200, 100, 50],
      [0, 0, 0, 255, 255, 255, 31, 119, 180],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      [250, 128, 3, 31, 119, 180, 31, 119, 180],
    ];
    const image = decodePng(encode(3, rows, [0, 1, 2, 3, 4]));
    expect(image.width).toBe(3);
    expect(image.height).toBe(5);
    const rgb = [...image.pixels].filter((_, i) => i % 4 !== 3);
    expect(rgb).toEqual(rows.flat());
    expect(countPixels(image, (r, g, b) => r === 31 && g === 119 && b === 180)).toBe(6);
  });
});
