/**
 * One CSV cell (RFC 4180), safe to open in a spreadsheet: every CSV capline writes (reports, the
 * ingester's rejects file) uses it. Spreadsheets run a cell that starts with = + - @ (or a tab / CR
 * that they strip first) as a formula: such text cells get a leading single quote (the OWASP
 * advice), numbers stay numbers.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(text: string, numeric = false): string {
  let value = text;
  if (!numeric && FORMULA_START.test(value)) value = `'${value}`;
  if (/[",\r\n]/.test(value) || value !== value.trim()) return `"${value.replace(/"/g, '""')}"`;
  return value;
}
