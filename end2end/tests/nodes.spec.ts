import { test, expect } from "./fixtures";
import { spawn, ChildProcess } from "child_process";
import * as path from "path";
import { messageTexts, openChat, say, unique, uniqueRoom } from "./helpers";
import { freshDataDir, startServer, stopServer, withLifetime } from "../server";

// Two Palaver nodes of this test's own, sharing a PostgreSQL and a Redis started for it.
const ports = [
  Number(process.env.PALAVER_E2E_NODE1_PORT ?? 3220),
  Number(process.env.PALAVER_E2E_NODE2_PORT ?? 3221),
];
const services = path.resolve(__dirname, "../../target/debug/palaver-services");

/** Starts PostgreSQL and Redis (testkit's `palaver-services`); resolves with their URLs. */
async function startServices(): Promise<{ child: ChildProcess; env: Record<string, string> }> {
  const [command, args] = withLifetime(300, services, {}, "290");
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const env: Record<string, string> = {};
  await new Promise<void>((ready, failed) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      for (const line of out.split("\n")) {
        const [name, value] = line.split(/=(.*)/s);
        if (name.startsWith("PALAVER_") && value) env[name] = value;
      }
      if (env.PALAVER_DATABASE_URL && env.PALAVER_REDIS_URL) ready();
    });
    child.once("exit", (code) => failed(new Error(`palaver-services exited (${code}): ${out}`)));
    setTimeout(() => failed(new Error("PostgreSQL and Redis did not start within 60 s")), 60_000);
  });
  return { child, env };
}

test("two people on two different nodes chat and see each other's presence and typing", async ({ browser }) => {
  test.setTimeout(90_000);
  const { child: backing, env } = await startServices();
  const nodes: ChildProcess[] = [];
  try {
    for (const port of ports) nodes.push(await startServer(port, freshDataDir(), env));
    const room = uniqueRoom("nodes");
    const ann = await (await browser.newContext()).newPage();
    await openChat(ann, `http://127.0.0.1:${ports[0]}/r/${room}`, "Ann");
    const bob = await (await browser.newContext()).newPage();
    await openChat(bob, `http://127.0.0.1:${ports[1]}/r/${room}`, "Bob");

    // Presence spans the nodes: each sees both.
    await expect(ann.getByTestId("online-names")).toHaveText("Ann, Bob");
    await expect(bob.getByTestId("online-names")).toHaveText("Ann, Bob");

    const hello = unique("hello from node one");
    await say(ann, hello);
    await expect(messageTexts(bob)).toHaveText([hello]);
    const back = unique("and back from node two");
    await say(bob, back);
    await expect(messageTexts(ann)).toHaveText([hello, back]);

    await bob.getByTestId("composer-input").pressSequentially("typing on node two");
    await expect(ann.getByTestId("typing")).toHaveText("Bob is typing…");

    // Bob leaves: gone from Ann's list on the other node.
    await bob.close();
    await expect(ann.getByTestId("online-names")).toHaveText("Ann");
  } finally {
    for (const node of nodes) await stopServer(node);
    backing.stdin!.end();
    await new Promise((r) => (backing.exitCode !== null ? r(null) : backing.once("exit", r)));
  }
});
