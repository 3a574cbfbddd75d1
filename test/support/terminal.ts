/**
 * What a terminal shows after some output, for tests that check what a person sees: `\r` goes
 * back to column 0, `\n` to a new row, ESC[K clears to the end of the row, other escape sequences
 * (colours) are dropped. Enough for capline's own output (no cursor movement beyond that).
 */
const ESC = String.fromCharCode(27);
const CSI = new RegExp(`^${ESC}\\[[0-9;]*([A-Za-z])`);

export function screenRows(raw: string): string[] {
  const rows: string[] = [""];
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === ESC) {
      const m = CSI.exec(raw.slice(i, i + 16));
      if (m?.[1] === "K") rows[rows.length - 1] = (rows.at(-1) ?? "").slice(0, col);
      i += (m?.[0].length ?? 1) - 1;
    } else if (ch === "\r") col = 0;
    else if (ch === "\n") {
      rows.push("");
      col = 0;
    } else {
      const row = (rows.at(-1) ?? "").padEnd(col);
      rows[rows.length - 1] = row.slice(0, col) + ch + row.slice(col + 1);
      col++;
    }
  }
  return rows;
}
