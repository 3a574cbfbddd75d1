import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEvents } from "../processing/test/events.ts";
import { Pipeline } from "../processing/test/harness.ts";
import { PrivateRedis } from "../processing/test/private-redis.ts";
import { produceEvents } from "../processing/test/produce.ts";
import { runCapline } from "../test/support/cli.ts";
import { isolatedNames, uniqueName } from "../test/support/index.ts";
import { loadConfig } from "./config/index.ts";
import { KafkaAdmin, kafkaOptions } from "./kafka/index.ts";
import { dispatcherGroupOf } from "./names.ts";

/**
 * Issue 12, item 4, against a real redis-server started with a password: `REDIS_URL` holding
 * S3CRET never shows S3CRET in any output of any command — `config`, `process` with a wrong
 * password (exit 2 in one line, no loop of stack traces), a malformed URL, the monitor,
 * reset, and `process` itself with the right password at the most verbose log level.
 */

const SECRET = "S3CRET-pw-1a2b";
const redis = new PrivateRedis({ password: SECRET });
const wrong = new PrivateRedis({ password: "the-server-wants-this" });
const name = uniqueName("secrets");
const names = isolatedNames(name);

/** Everything a run printed, where the secret must not be. */
const everything = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await Promise.all([redis.start(), wrong.start()]);
  const admin = new KafkaAdmin(kafkaOptions(loadConfig()));
  await admin.createTopic({ topic: names.KAFKA_TOPIC, partitions: 1, replicationFactor: 1 });
  await admin.close();
});

afterAll(async () => {
  const admin = new KafkaAdmin(kafkaOptions(loadConfig()));
  await admin.deleteTopics([names.KAFKA_TOPIC]).catch(() => undefined);
  await admin.deleteGroups([dispatcherGroupOf(names.KAFKA_CLIENT_ID)]).catch(() => undefined);
  await admin.close();
  await Promise.all([redis.kill(), wrong.kill()]);
});

describe("a Redis password in REDIS_URL is never printed", () => {
  it("capline config masks it, in JSON and text", async () => {
    for (const args of [["config"], ["config", "--json"]]) {
      const r = await runCapline(args, { REDIS_URL: redis.url });
      expect(r.code, r.stderr).toBe(0);
      expect(everything(r)).not.toContain(SECRET);
      expect(r.stdout).toContain(`redis://***@127.0.0.1:`);
    }
  });

  it("a malformed REDIS_URL or ELASTICSEARCH_URL is named without its password (exit 2)", async () => {
    for (const env of [
      { REDIS_URL: `redis//:${SECRET}@127.0.0.1:6379` },
      { REDIS_URL: `http://:${SECRET}@127.0.0.1:6379` },
      { REDIS_URL: `redis://:${SECRET}@127.0.0.1:notaport` },
      { ELASTICSEARCH_URL: `http://elastic:${SECRET}@127.0.0.1:9200` },
      { ELASTICSEARCH_URL: `http://elastic:${SECRET}@[bad` },
    ]) {
      for (const args of [["config"], ["process", "--until-idle", "--json"], ["monitor"]]) {
        const r = await runCapline(args, env);
        expect(r.code, `${args.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`).toBe(2);
        expect(everything(r)).not.toContain(SECRET);
        expect(everything(r)).toMatch(/REDIS_URL|ELASTICSEARCH_URL/);
      }
    }
  });

  it("process with a wrong password stops at once: exit 2, one line naming REDIS_URL, no stack trace", async () => {
    const r = await runCapline(
      ["process", "--until-idle"],
      { ...names, REDIS_URL: wrong.urlWith(SECRET) },
      60_000,
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.ms).toBeLessThan(30_000);
    expect(everything(r)).not.toContain(SECRET);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("capline: Invalid configuration:");
    expect(lines[1]).toMatch(
      /^ {2}REDIS_URL: Redis at redis:\/\/127\.0\.0\.1:\d+ refused the user name or password given; expected/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // No password at all against a server that wants one: NOAUTH, the same kind of message.
    const none = await runCapline(["process", "--until-idle", "--json"], {
      ...names,
      REDIS_URL: wrong.urlWith(undefined),
    });
    expect(none.code, none.stderr).toBe(2);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, error: { code: "CONFIG_INVALID" } });
    expect(none.stdout).toContain("requires a password and none was given");
  });

  it("reset --dry-run and monitor with a wrong password name Redis without the password", async () => {
    const env = { ...names, REDIS_URL: wrong.urlWith(SECRET) };
    for (const args of [
      ["reset", "--dry-run", "--json"],
      ["monitor", "--json"],
    ]) {
      const r = await runCapline(args, env);
      expect(everything(r), args.join(" ")).not.toContain(SECRET);
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).not.toBe(0);
      expect(everything(r), args.join(" ")).toMatch(/redis:\/\/(\*\*\*@)?127\.0\.0\.1:\d+/);
    }
  });

  it("process with the right password, logging at trace level, prints it nowhere", async () => {
    const pipeline = new Pipeline({ hdfs: false, env: { REDIS_URL: redis.url } });
    try {
      await pipeline.setup();
      const events = generateEvents(300, 12, 20, 1);
      await produceEvents(pipeline.kafka, pipeline.name, 1, events);
      const r = await pipeline.run(["--until-idle", "--json"], 120_000);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      await pipeline.verify(events);
      const traced = await runCapline(["process", "--until-idle", "--json"], {
        ...pipeline.env,
        LOG_LEVEL: "trace",
      });
      expect(traced.code, traced.stderr.slice(-2000)).toBe(0);
      expect(traced.stderr.length).toBeGreaterThan(0); // it did log
      const monitor = await runCapline(["monitor", "--json"], pipeline.env);
      for (const out of [r, traced, monitor]) expect(everything(out)).not.toContain(SECRET);
      expect(everything(monitor)).toContain("redis://127.0.0.1:");
    } finally {
      await pipeline.cleanup();
    }
  });
});
