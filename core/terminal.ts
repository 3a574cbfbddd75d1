/**
 * The last line of a terminal, shared by whatever draws a status there (a progress bar) and
 * whatever prints lines above it (logs): a log line clears the status, prints, and draws it again,
 * so neither breaks the other. One per stream: a process has one stderr, and everything that
 * writes to it must go through the same owner.
 */
export class TerminalLine {
  private status: string | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** Whether the stream is a terminal (then the status line is drawn at all). */
  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /**
   * The status cut to the terminal's width: a line that wraps cannot be redrawn in place (`\r`
   * returns to the start of its last row only).
   */
  private fit(text: string): string {
    const columns = this.stream.columns;
    if (!columns || columns < 10 || [...text].length < columns) return text;
    return `${[...text].slice(0, columns - 2).join("")}…`;
  }

  /** Draws (or redraws) the status line. */
  setStatus(text: string): void {
    this.status = this.fit(text);
    this.stream.write(`\r${this.status}\u001b[K`);
  }

  /** Removes the status line (the caller prints its summary next). */
  clearStatus(): void {
    if (this.status === undefined) return;
    this.status = undefined;
    this.stream.write("\r\u001b[K");
  }

  /** Prints whole lines above the status line. */
  writeAbove(text: string): void {
    const body = text.endsWith("\n") ? text : `${text}\n`;
    if (this.status === undefined) this.stream.write(body);
    else this.stream.write(`\r\u001b[K${body}${this.status}\u001b[K`);
  }
}

const lines = new WeakMap<NodeJS.WriteStream, TerminalLine>();

/** The owner of a stream's last line. */
export function terminalLine(stream: NodeJS.WriteStream = process.stderr): TerminalLine {
  let line = lines.get(stream);
  if (!line) {
    line = new TerminalLine(stream);
    lines.set(stream, line);
  }
  return line;
}
