import { defineConfig } from "vitest/config";

/**
 * Two projects:
 * - unit: `*.test.ts`, pure logic, no service, fast;
 * - integration: `*.int.test.ts`, against the real local stack (Kafka, Elasticsearch, MinIO,
 *   HDFS, Redis). The global setup makes sure the stack answers (starting it if needed). Files run
 *   one at a time: several of them stop and restart services on purpose.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["**/*.int.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["test/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
