/**
 * A streaming RFC 4180 record parser built for throughput: it works on decoded text chunks, finds
 * line ends and quotes with `indexOf` (native, vectorised) and splits a line that holds no quote
 * with one `split(",")`. Only lines with a quote take the character-level path.
 *
 * Every record carries the physical line it starts on (1-based; the header is line 1) and its raw
 * text, so a refused row can be reported exactly as it was in the file.
 *
 * Broken quoting is contained: a quoted field may span lines (RFC 4180), but when a record that
 * spans lines turns out broken (garbage after a closing quote, no closing quote before the end of
 * the input or within the line limit, or the wrong number of fields), only its first physical
 * line is refused and parsing resumes on the next line. One stray quote therefore costs one row,
 * not the rest of the file.
 *
 * Long lines are contained the same way: a physical line longer than the line limit is refused
 * (its first MAX_RAW_CHARS characters kept for the report) and parsing resumes on the next line;
 * when no line end comes within the limit, the text is dropped as it arrives until one does, so
 * a 100 MB line costs one row and no memory.
 */

export interface CsvRecord {
  /** The field values, unquoted. */
  fields: string[];
  /** Physical line (1-based) where the record starts. */
  line: number;
  /** The record's text without its line terminator. */
  raw: string;
  /** Set when the record cannot be split into fields (the row is `malformed_row`). */
  broken?: string;
}

/**
 * The default line limit (INGEST_MAX_LINE_CHARS): a longer physical line, or a quoted record that
 * spans more, is malformed (no legitimate row is that long).
 */
export const DEFAULT_MAX_LINE_CHARS = 1 << 20;

/** Characters of a refused row's text kept for the DLQ and the rejects file. */
export const MAX_RAW_CHARS = 4096;

const QUOTE = 34; // "
const COMMA = 44; // ,
const LF = 10;
const CR = 13;

interface QuotedResult {
  fields: string[];
  /** Index just after the record's terminator (or end of text). */
  end: number;
  /** Index of the record's terminating LF (or end of text). */
  recordEnd: number;
  newlines: number;
}

type QuotedOutcome = QuotedResult | { broken: string } | "more";

export class CsvParser {
  private carry = "";
  /** Inside a line over the limit, already refused: text is dropped up to its line end. */
  private skipping = false;
  private nextLine = 1;
  private started = false;
  private expectedFields: number | undefined;
  /** Blank lines seen (skipped: they are not rows). */
  blankLines = 0;

  constructor(private readonly maxLineChars: number = DEFAULT_MAX_LINE_CHARS) {}

  /** The header's field count; multi-line records with another count are taken as broken quoting. */
  setExpectedFields(count: number): void {
    this.expectedFields = count;
  }

  /** Parses a chunk of decoded text; returns the complete records it closes. */
  push(chunk: string): CsvRecord[] {
    let rest = chunk;
    if (this.skipping) {
      const nl = chunk.indexOf("\n");
      if (nl === -1) return [];
      this.skipping = false;
      this.nextLine++;
      rest = chunk.slice(nl + 1);
    }
    let text = this.carry + rest;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return this.parse(text, false);
  }

  /** Flushes what is left at the end of the input. */
  end(): CsvRecord[] {
    const text = this.carry;
    this.carry = "";
    if (this.skipping) {
      this.skipping = false;
      this.nextLine++;
    }
    return this.parse(text, true);
  }

  private parse(text: string, final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    const len = text.length;
    let pos = 0;
    let line = this.nextLine;
    let nextQuote = -2; // -2: not searched yet; -1: none in the rest of the text
    while (pos < len) {
      let nl = text.indexOf("\n", pos);
      if (nl === -1) {
        if (!final) {
          if (len - pos > this.maxLineChars) {
            // No line end within the limit: refuse the line now, drop the rest of it as it comes.
            out.push(this.tooLong(text, pos, line));
            this.skipping = true;
            pos = len;
          }
          break;
        }
        nl = len;
      }
      if (
        nl - pos > this.maxLineChars &&
        nl - pos - (text.charCodeAt(nl - 1) === CR ? 1 : 0) > this.maxLineChars
      ) {
        out.push(this.tooLong(text, pos, line));
        line++;
        pos = nl + 1;
        continue;
      }
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if (nextQuote === -1 || nextQuote >= nl) {
        let end = nl;
        if (end > pos && text.charCodeAt(end - 1) === CR) end--;
        if (end === pos) this.blankLines++;
        else {
          const raw = text.slice(pos, end);
          out.push({ fields: raw.split(","), line, raw });
        }
        line++;
        pos = nl + 1;
        continue;
      }
      const result = this.parseQuoted(text, pos, final);
      if (result === "more") {
        if (len - pos <= this.maxLineChars) break;
        // Unbounded quoted field: refuse the first line and resynchronise on the next one.
        this.pushBrokenLine(out, text, pos, nl, line, "a quoted field is never closed");
        line++;
        pos = nl + 1;
        continue;
      }
      if ("broken" in result) {
        this.pushBrokenLine(out, text, pos, nl, line, result.broken);
        line++;
        pos = nl + 1;
        continue;
      }
      if (
        result.newlines > 0 &&
        this.expectedFields !== undefined &&
        result.fields.length !== this.expectedFields
      ) {
        this.pushBrokenLine(out, text, pos, nl, line, "a quoted field runs into the next line(s)");
        line++;
        pos = nl + 1;
        continue;
      }
      let rawEnd = result.recordEnd;
      if (rawEnd > pos && text.charCodeAt(rawEnd - 1) === CR) rawEnd--;
      out.push({ fields: result.fields, line, raw: text.slice(pos, rawEnd) });
      line += result.newlines + 1;
      pos = result.end;
    }
    this.nextLine = line;
    this.carry = pos < len ? text.slice(pos) : "";
    return out;
  }

  private tooLong(text: string, pos: number, line: number): CsvRecord {
    return {
      fields: [],
      line,
      raw: text.slice(pos, pos + MAX_RAW_CHARS),
      broken: `the line is longer than the line limit of ${this.maxLineChars} characters (INGEST_MAX_LINE_CHARS)`,
    };
  }

  private pushBrokenLine(
    out: CsvRecord[],
    text: string,
    pos: number,
    nl: number,
    line: number,
    why: string,
  ): void {
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === CR) end--;
    out.push({ fields: [], line, raw: text.slice(pos, end), broken: `broken quoting: ${why}` });
  }

  /** The character-level path for a record that contains a quote. */
  private parseQuoted(text: string, start: number, final: boolean): QuotedOutcome {
    const len = text.length;
    const fields: string[] = [];
    let newlines = 0;
    let i = start;
    for (;;) {
      // At the start of a field.
      if (i < len && text.charCodeAt(i) === QUOTE) {
        let value = "";
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q === -1) {
            if (!final) return "more";
            return { broken: "a quoted field is never closed" };
          }
          if (q + 1 >= len && !final) return "more";
          const chunk = text.slice(j, q);
          for (let k = chunk.indexOf("\n"); k !== -1; k = chunk.indexOf("\n", k + 1)) newlines++;
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += `${chunk}"`;
            j = q + 2;
            continue;
          }
          value += chunk;
          i = q + 1;
          break;
        }
        fields.push(value);
        const c = i < len ? text.charCodeAt(i) : -1;
        if (c === COMMA) {
          i++;
          continue;
        }
        if (c === LF || c === -1) return { fields, end: c === -1 ? len : i + 1, recordEnd: i, newlines };
        if (c === CR) {
          if (i + 1 >= len && !final) return "more";
          const d = i + 1 < len ? text.charCodeAt(i + 1) : -1;
          if (d === LF || d === -1)
            return { fields, end: d === -1 ? len : i + 2, recordEnd: i + 1, newlines };
        }
        return { broken: "a character follows a closing quote" };
      }
      // Unquoted field: up to the next comma or line end; it may not hold a quote.
      let nl = text.indexOf("\n", i);
      if (nl === -1) {
        if (!final) return "more";
        nl = len;
      }
      let comma = text.indexOf(",", i);
      if (comma === -1 || comma > nl) comma = -1;
      const stop = comma === -1 ? nl : comma;
      let valueEnd = stop;
      if (comma === -1 && valueEnd > i && text.charCodeAt(valueEnd - 1) === CR) valueEnd--;
      const value = text.slice(i, valueEnd);
      if (value.includes('"')) return { broken: "a quote inside an unquoted field" };
      fields.push(value);
      if (comma !== -1) {
        i = comma + 1;
        continue;
      }
      return { fields, end: nl >= len ? len : nl + 1, recordEnd: nl, newlines };
    }
  }
}
