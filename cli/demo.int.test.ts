import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../core/exit-codes.ts";
import { GroupConsumer, kafkaOptions } from "../core/kafka/index.ts";
import { dispatcherGroupOf } from "../core/names.ts";
import { describeGroups } from "../setup/kafka.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "../setup/test/fixtures.ts";
import { testConfig } from "../test/support/index.ts";

/**
 * The demo processes on this machine; a consumer group that already has members (Compose's
 * dispatcher and workers after a full `docker compose up`) would share the partitions and queues
 * with it. The demo must stop before ingesting anything, and say what to do.
 */
describe("capline demo beside a running pipeline", () => {
  const env = randomEnv("demo");
  const config = testConfig(env);
  const services = servicesFor(env);
  const group = dispatcherGroupOf(config.kafka.clientId);

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  it("refuses to compete with the members of the dispatcher group, before ingesting", async () => {
    const admin = await services.admin();
    await admin.createTopic({ topic: config.kafka.topic, partitions: 3, replicationFactor: 1 });
    // Stands for Compose's dispatcher: a member of the group the demo's `process` would join.
    const consumer = new GroupConsumer(
      kafkaOptions(config),
      { groupId: group, topic: config.kafka.topic },
      { onAssignment: () => undefined, onBatch: async () => undefined, onError: () => undefined },
    );
    await consumer.start();
    try {
      for (let i = 0; i < 100 && (await describeGroups(admin, [group]))[0]?.members === 0; i++)
        await new Promise((r) => setTimeout(r, 200));
      const run = await runCli(["demo", "--events", "100"], env);
      expect(run.code, run.stderr).toBe(ExitCode.CONFLICT);
      expect(run.stderr).toContain(`the consumer group ${group} already has 1 consumer `);
      expect(run.stderr).toContain("docker compose stop dispatcher worker");
      // It stopped after setup: nothing generated, nothing ingested.
      expect(run.stderr).not.toContain("Generate a realistic sample");
      const offsets = await admin.offsets(config.kafka.topic);
      expect(offsets.reduce((sum, p) => sum + p.high, 0)).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
