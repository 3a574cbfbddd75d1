import { describe, expect, it } from "vitest";
import { CsvParser, type CsvRecord, DEFAULT_MAX_LINE_CHARS } from "./csv-parser.ts";

/** Parses `text` fed in pieces of `step` characters (1 = the worst case for chunk boundaries). */
function parseAll(text: string, step = text.length || 1): CsvRecord[] {
  const parser = new CsvParser();
  const out: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += step) out.push(...parser.push(text.slice(i, i + step)));
  out.push(...parser.end());
  return out;
}

const simplified = (records: CsvRecord[]) =>
  records.map((r) =>
    r.broken ? { line: r.line, raw: r.raw, broken: true } : { line: r.line, fields: r.fields },
  );

describe("CsvParser", () => {
  const tricky =
    '\uFEFFa,b,c\r\n1,"x, y",3\r\n2,"say ""hi""",4\r\n3,"multi\r\nline\nfield",5\r\n\r\n4,ü€😀,6\r\n5,"",\r\n';
  const expected = [
    { line: 1, fields: ["a", "b", "c"] },
    { line: 2, fields: ["1", "x, y", "3"] },
    { line: 3, fields: ["2", 'say "hi"', "4"] },
    { line: 4, fields: ["3", "multi\r\nline\nfield", "5"] },
    { line: 8, fields: ["4", "ü€😀", "6"] },
    { line: 9, fields: ["5", "", ""] },
  ];

  it("handles BOM, CRLF, quoted commas, doubled quotes, multi-line fields, unicode and blank lines", () => {
    expect(simplified(parseAll(tricky))).toEqual(expected);
  });

  it("gives the same records whatever the chunk boundaries", () => {
    for (const step of [1, 2, 3, 5, 7, 13]) expect(simplified(parseAll(tricky, step))).toEqual(expected);
  });

  it("counts blank lines instead of returning them", () => {
    const parser = new CsvParser();
    parser.push("a\n\n\nb\n");
    parser.end();
    expect(parser.blankLines).toBe(2);
  });

  it("keeps the raw text without the line terminator", () => {
    const records = parseAll('h1,h2\r\n"a,1",b\r\nc,d');
    expect(records.map((r) => r.raw)).toEqual(["h1,h2", '"a,1",b', "c,d"]);
  });

  it("refuses a quote inside an unquoted field, and only that line", () => {
    const records = parseAll('a,b\nx,ab"c\ny,z\n');
    expect(simplified(records)).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, raw: 'x,ab"c', broken: true },
      { line: 3, fields: ["y", "z"] },
    ]);
  });

  it("refuses characters after a closing quote", () => {
    const records = parseAll('a,b\n"x"y,1\n2,3\n');
    expect(records[1]?.broken).toMatch(/follows a closing quote/);
    expect(records[2]?.fields).toEqual(["2", "3"]);
  });

  it("refuses an unterminated quote at the end of the input without losing earlier rows", () => {
    const records = parseAll('a,b\n1,2\n3,"never closed\n');
    expect(simplified(records)).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1", "2"] },
      { line: 3, raw: '3,"never closed', broken: true },
    ]);
  });

  it("resynchronises on the next line when a stray quote would swallow following rows", () => {
    const parser = new CsvParser();
    const out = parser.push("a,b,c\n");
    parser.setExpectedFields(3);
    out.push(...parser.push('1,"oops,3\n2,x,y\n3,"q",z\n4,5,6\n'));
    out.push(...parser.end());
    expect(simplified(out)).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, raw: '1,"oops,3', broken: true },
      { line: 3, fields: ["2", "x", "y"] },
      { line: 4, fields: ["3", "q", "z"] },
      { line: 5, fields: ["4", "5", "6"] },
    ]);
  });

  it("accepts a multi-line quoted record with the header's field count", () => {
    const parser = new CsvParser();
    const out = parser.push("a,b,c\n");
    parser.setExpectedFields(3);
    out.push(...parser.push('1,"two\nlines",3\n4,5,6\n'), ...parser.end());
    expect(simplified(out).slice(1)).toEqual([
      { line: 2, fields: ["1", "two\nlines", "3"] },
      { line: 4, fields: ["4", "5", "6"] },
    ]);
  });

  it("gives up on a quoted field longer than the line limit, refusing its first line only", () => {
    const parser = new CsvParser();
    const out = parser.push('a,b\n1,"');
    const filler = "z\n".repeat(DEFAULT_MAX_LINE_CHARS / 2 + 10);
    // (records are collected through an array: spreading half a million of them into push() would overflow the stack)
    const rest = [...parser.push(filler), ...parser.end()];
    out.push(rest[0] as CsvRecord, rest[1] as CsvRecord);
    expect(out[1]).toMatchObject({ line: 2, raw: '1,"z' });
    expect(out[1]?.broken).toBeDefined();
    expect(out[2]).toMatchObject({ line: 3, fields: ["z"] });
  });

  it("reads a last line without a terminator", () => {
    expect(simplified(parseAll("a,b\n1,2"))).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1", "2"] },
    ]);
  });
});
