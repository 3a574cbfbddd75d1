import { loadConfig } from "../core/config/index.ts";
import { ensureStackUp, type ServiceName, stopStack } from "../stack/index.ts";

/**
 * Global setup of the integration project: makes the five services answer (starting the local
 * stack if needed, which can take a minute or two on a cold machine). Services that were already
 * running stay as they are; those this run started are stopped at the end, unless
 * CAPLINE_KEEP_STACK=true (handy while iterating on tests).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const config = loadConfig();
  const started = Date.now();
  const services = await ensureStackUp(config, {
    progress: (line) => process.stderr.write(`[stack] ${line}\n`),
  });
  const ours: ServiceName[] = services.filter((s) => s.how === "started").map((s) => s.name);
  if (ours.length > 0)
    process.stderr.write(
      `[stack] started ${ours.join(", ")} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
  return async () => {
    if (ours.length === 0 || process.env.CAPLINE_KEEP_STACK === "true") return;
    await stopStack(config, ours);
  };
}
