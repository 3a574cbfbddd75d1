/**
 * What capline prints is cleaned in one place: passwords inside URLs are masked wherever a URL
 * appears (config, errors, logs, JSON outputs — also in a URL too malformed to parse), the
 * configured secret values are replaced wherever they appear, and control characters (terminal
 * escape sequences from a file's header, a file name or a server's answer) are escaped so that no
 * input can drive the terminal.
 */

/**
 * `scheme://user:password@` up to the last `@` before a space or quote: WHATWG URL parsing takes
 * the last `@` of the authority, and a malformed URL (a `/` or `@` inside the password) must not
 * leak the part after the first one. Over-masking a path that holds an `@` is the safe side.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`]*@/gi;

/** `redis://:S3CRET@host:6379` → `redis://***@host:6379`; text without userinfo is unchanged. */
export function maskUrlCredentials(text: string): string {
  if (text.indexOf("@") === -1) return text;
  return text.replace(URL_USERINFO, "$1***@");
}

/**
 * C0 controls but line feed and tab, DEL, C1 controls, and the Unicode bidirectional overrides
 * (which can make a terminal show text in another order than it is).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** ESC → `\x1b`, NUL → `\x00`, U+202E → `\u202e`: visible, inert, and still recognisable. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/** Replaces known secret values and URL passwords; what every output of capline goes through. */
export class Redactor {
  private secrets: string[] = [];

  /** Values never to print (shorter than 4 characters would mask ordinary words: not taken). */
  setSecrets(values: readonly (string | undefined)[]): void {
    const set = new Set<string>();
    for (const v of values) {
      if (typeof v !== "string" || v.length < 4) continue;
      set.add(v);
      // As it may appear inside a URL or a query string.
      const encoded = encodeURIComponent(v);
      if (encoded !== v) set.add(encoded);
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...set].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = maskUrlCredentials(text);
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join("[redacted]");
    return out;
  }
}

/** The process's redactor: the configuration registers its secrets once it is loaded. */
export const redactor = new Redactor();

/** A message fit for a terminal or a log: secrets removed, control characters escaped. */
export function cleanMessage(text: string): string {
  return escapeControl(redactor.redact(text));
}
