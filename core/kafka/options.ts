import type { Config } from "../config/index.ts";
import { ConfigError, type ConfigProblem } from "../errors.ts";

/**
 * What every capline Kafka client is built from: the brokers and client id of the configuration,
 * and how long to wait and retry. Made once per client by `kafkaOptions`, which validates the
 * overrides a caller adds (the configuration's own values are validated by core/config already).
 */
export interface KafkaOptions {
  /** Bootstrap servers, `host:port` each (KAFKA_BROKERS). */
  readonly brokers: readonly string[];
  /** The client id brokers see in their logs and quotas (KAFKA_CLIENT_ID). */
  readonly clientId: string;
  /**
   * How long a command keeps retrying a broker that does not answer before it gives up and names
   * it (KAFKA_CONNECT_TIMEOUT_MS).
   */
  readonly connectTimeoutMs: number;
  /** How long one connection attempt may take. @defaultValue 5000 */
  readonly socketTimeoutMs: number;
  /** How long one request may wait for its answer. @defaultValue 30000 */
  readonly requestTimeoutMs: number;
  /**
   * How often the client itself retries a request that failed for a reason time can cure (a
   * broker restarting, a leader moving) before the error reaches capline. @defaultValue 5
   */
  readonly retries: number;
  /** Pause between those retries. @defaultValue 300 */
  readonly retryDelayMs: number;
}

export type KafkaOverrides = Partial<Omit<KafkaOptions, "brokers">>;

const BROKER = /^[^\s:/]+:\d{1,5}$/;

/** The options of a client for `config`, with `overrides` (validated: a wrong one is a bug, named). */
export function kafkaOptions(config: Config, overrides: KafkaOverrides = {}): KafkaOptions {
  const options: KafkaOptions = {
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    connectTimeoutMs: config.kafka.connectTimeoutMs,
    socketTimeoutMs: 5_000,
    requestTimeoutMs: 30_000,
    retries: 5,
    retryDelayMs: 300,
    ...overrides,
  };
  const problems: ConfigProblem[] = [];
  if (options.brokers.length === 0 || options.brokers.some((b) => !BROKER.test(b)))
    problems.push({
      variable: "KAFKA_BROKERS",
      problem: `"${options.brokers.join(",")}" is not a list of host:port`,
      expected: "host:port[,host:port...], e.g. 127.0.0.1:9092",
    });
  if (!/^\S+$/.test(options.clientId))
    problems.push({
      variable: "KAFKA_CLIENT_ID",
      problem: `"${options.clientId}" is empty or has spaces`,
      expected: "a name without spaces, e.g. capline",
    });
  const positive = ["connectTimeoutMs", "socketTimeoutMs", "requestTimeoutMs", "retryDelayMs"] as const;
  for (const name of positive)
    if (!Number.isFinite(options[name]) || options[name] <= 0)
      problems.push({ variable: `kafka.${name}`, problem: `${options[name]}`, expected: "milliseconds > 0" });
  if (!Number.isInteger(options.retries) || options.retries < 0)
    problems.push({ variable: "kafka.retries", problem: `${options.retries}`, expected: "an integer >= 0" });
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(options);
}
