import { readFileSync } from "node:fs";
import { Client, type ClientOptions } from "@elastic/elasticsearch";
import type { Config } from "../config/index.ts";

/**
 * The official client (major 8, like the server). Auth comes from the environment only: API key
 * first, then basic auth; a CA certificate for https clusters. Nothing here is ever logged.
 */
export function createElasticsearch(config: Config, overrides: Partial<ClientOptions> = {}): Client {
  const es = config.elasticsearch;
  const options: ClientOptions = {
    node: es.url,
    requestTimeout: 30_000,
    maxRetries: 3,
    // Responses come from our own cluster and are parsed with JSON.parse: the "secure" parser is
    // several times slower and *throws* on a "__proto__" key, which user data (a brand, say) may
    // be. Code that merges such records uses prototype-less objects (processing/profiles.ts).
    disablePrototypePoisoningProtection: true,
    ...overrides,
  };
  if (es.apiKey) options.auth = { apiKey: es.apiKey };
  else if (es.username && es.password) options.auth = { username: es.username, password: es.password };
  if (es.caCertPath) options.tls = { ca: readFileSync(es.caCertPath, "utf8"), rejectUnauthorized: true };
  return new Client(options);
}
