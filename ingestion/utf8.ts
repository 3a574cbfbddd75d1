import { isUtf8 } from "node:buffer";

/**
 * A streaming UTF-8 decoder that tells invalid bytes apart from a real U+FFFD in the file.
 *
 * Node's decoders replace an invalid sequence with U+FFFD, which a valid file may also contain, so
 * a row with broken bytes could not be told from a legitimate one. Here every maximal invalid
 * subpart (as the WHATWG decoder counts them) becomes INVALID_MARK, an unpaired surrogate that no
 * valid UTF-8 can produce; the validator refuses a row holding one (`malformed_row`, invalid UTF-8) and
 * shows it as U+FFFD. The common case costs one native `isUtf8` check per buffer (simdutf) and the
 * same `toString` as before; only a buffer with invalid bytes takes the byte-level path.
 *
 * `suspect` turns true once a buffer held invalid bytes or a NUL: until then the validator skips
 * its per-row character check entirely.
 */

/**
 * Stands for one invalid byte sequence in decoded text: a high surrogate with no low surrogate
 * after it, which no valid UTF-8 can produce. (A lone low surrogate would not do: U+11FFF is
 * \ud807\udfff, so a search for \udfff finds the second half of valid characters — fuzzing found
 * that.) Found with `invalidAt`, shown with `showInvalid`.
 */
export const INVALID_MARK = "\udbff";

/** Where the first invalid-sequence mark of `text` is, or -1. */
export function invalidAt(text: string): number {
  for (let i = text.indexOf(INVALID_MARK); i !== -1; i = text.indexOf(INVALID_MARK, i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return i;
  }
  return -1;
}

const MARKS = /\udbff(?![\udc00-\udfff])/g;

/** The text with each mark shown as U+FFFD, the replacement character. */
export function showInvalid(text: string): string {
  return text.indexOf(INVALID_MARK) === -1 ? text : text.replace(MARKS, "\ufffd");
}

/** Bytes a sequence starting with `lead` needs, or 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** The allowed range of the second byte after `lead` (Unicode Table 3-7); later ones are 80..BF. */
function secondRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}

/**
 * How many bytes from `at` form a valid sequence (> 0), or minus the length of the maximal invalid
 * subpart (< 0). `end` bounds the buffer; a sequence cut by `end` counts as invalid here (callers
 * keep an incomplete tail for the next buffer before asking).
 */
function validAt(buf: Uint8Array, at: number, end: number): number {
  const lead = buf[at] as number;
  const n = sequenceLength(lead);
  if (n === 1) return 1;
  if (n === 0) return -1;
  const [lo, hi] = secondRange(lead);
  for (let k = 1; k < n; k++) {
    if (at + k >= end) return -k;
    const b = buf[at + k] as number;
    const ok = k === 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xbf;
    if (!ok) return -k;
  }
  return n;
}

/** Where an incomplete sequence at the end of `buf` starts (buf.length when there is none). */
function completeLength(buf: Uint8Array): number {
  const len = buf.length;
  for (let back = 1; back <= 3 && back <= len; back++) {
    const b = buf[len - back] as number;
    if (b < 0x80) return len;
    if (b >= 0xc0) {
      const n = sequenceLength(b);
      return n > back ? len - back : len;
    }
  }
  return len;
}

export class Utf8Decoder {
  private tail: Buffer | undefined;
  /** True once invalid bytes or a NUL byte were seen. */
  suspect = false;
  /** Invalid sequences replaced so far. */
  invalidSequences = 0;

  write(input: Buffer): string {
    let buf = input;
    if (this.tail) {
      buf = Buffer.concat([this.tail, input]);
      this.tail = undefined;
    }
    const cut = completeLength(buf);
    if (cut < buf.length) {
      this.tail = Buffer.from(buf.subarray(cut));
      buf = buf.subarray(0, cut);
    }
    if (!this.suspect && buf.indexOf(0) !== -1) this.suspect = true;
    if (isUtf8(buf)) return buf.toString("utf8");
    return this.slow(buf, buf.length);
  }

  /** What is left at the end of the input: an incomplete sequence is invalid. */
  end(): string {
    const tail = this.tail;
    this.tail = undefined;
    if (!tail || tail.length === 0) return "";
    return this.slow(tail, tail.length);
  }

  private slow(buf: Buffer, end: number): string {
    this.suspect = true;
    let out = "";
    let run = 0;
    let i = 0;
    while (i < end) {
      if ((buf[i] as number) < 0x80) {
        i++;
        continue;
      }
      const n = validAt(buf, i, end);
      if (n > 0) {
        i += n;
        continue;
      }
      if (i > run) out += buf.toString("utf8", run, i);
      out += INVALID_MARK;
      this.invalidSequences++;
      i += -n;
      run = i;
    }
    if (end > run) out += buf.toString("utf8", run, end);
    return out;
  }
}
