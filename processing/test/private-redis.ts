import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { sleep } from "../retry.ts";

/**
 * A Redis server of the test's own (`redis-server` on a free port, no RDB, no AOF), so a test can
 * kill it and start it again empty — its data lost — without touching the shared Redis.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private port = 0;

  /** `password`: the server requires it (`requirepass`), as a production Redis would. */
  constructor(private readonly options: { password?: string } = {}) {}

  /** The URL with the server's password, if it has one. */
  get url(): string {
    const auth = this.options.password === undefined ? "" : `:${encodeURIComponent(this.options.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /** The URL with another password (or none): what a misconfigured client uses. */
  urlWith(password: string | undefined): string {
    return `redis://${password === undefined ? "" : `:${encodeURIComponent(password)}@`}127.0.0.1:${this.port}`;
  }

  /** Starts the server unless it runs (on the same port as before) and waits until it answers. */
  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    if (this.port === 0) this.port = await freePort();
    const args = ["--port", String(this.port), "--save", "", "--appendonly", "no"];
    if (this.options.password !== undefined) args.push("--requirepass", this.options.password);
    const child = spawn("redis-server", args, { stdio: "ignore" });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await answers(this.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server on :${this.port} not up after 10 s`);
      await sleep(100);
    }
  }

  /** SIGKILL: no shutdown save (there is no persistence anyway); everything it held is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function answers(port: number): Promise<boolean> {
  const socket = connect(port, "127.0.0.1");
  try {
    await once(socket, "connect");
    socket.write("PING\r\n");
    const [reply] = await once(socket, "data");
    // A server with a password answers NOAUTH: it is up all the same.
    return String(reply).startsWith("+PONG") || String(reply).startsWith("-NOAUTH");
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}
