import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { PROJECT_ROOT } from "../../core/config/index.ts";

/**
 * A Lua script of this folder's `lua/`, read once from the source tree (relative to PROJECT_ROOT,
 * so the compiled code in dist/ finds it too) and run with EVALSHA, falling back to EVAL when the
 * server does not hold it yet (a restarted or flushed Redis).
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(readonly name: string) {
    this.source = readFileSync(join(PROJECT_ROOT, "processing", "dispatch", "lua", `${name}.lua`), "utf8");
    this.sha = createHash("sha1").update(this.source).digest("hex");
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: ReadonlyArray<string | Buffer | number>,
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
