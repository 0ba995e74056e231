import { test, expect } from "./fixtures";
import { ChildProcess } from "child_process";
import { freshDataDir, startServer, stopServer } from "../server";
import { openChat } from "./helpers";

// Web Push in Chromium, on a server of its own: the settings page registers the service
// worker, which shows a push as a notification naming the room and who wrote, set to
// open the room at the message. The push comes through the browser's DevTools protocol
// (ServiceWorker.deliverPushMessage), standing where the push service would; the
// server's half (VAPID, encryption, whom a message is pushed to) is tested against a
// push service of the tests' own in server/tests/push.rs.

test.use({ serviceWorkers: "allow" });

const port = Number(process.env.PALAVER_E2E_PUSH_PORT ?? 3230);
const base = `http://127.0.0.1:${port}`;
const PASSWORD = "correct horse battery";

let server: ChildProcess;

test.beforeAll(async () => {
  server = await startServer(port, freshDataDir(), { PALAVER_SIGN_UP: "open" });
});

test.afterAll(async () => {
  await stopServer(server);
});

test("a push is shown as a notification that opens the room at the message", async ({ browser }) => {
  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin: base });
  const page = await context.newPage();
  await page.goto(`${base}/sign-up`);
  await page.getByLabel("Handle").fill("ann");
  await page.getByLabel("Display name").fill("Ann");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/settings`);
  await expect(page.getByRole("heading", { name: "Notifications with Palaver closed" })).toBeVisible();
  await expect(page.locator("#push-state")).toHaveText("Off in this browser.");
  await expect(page.getByRole("button", { name: "Turn on in this browser" })).toBeVisible();
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  expect(scope).toBe(`${base}/`);

  const cdp = await context.newCDPSession(page);
  const registration = new Promise<string>((resolve) =>
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const found = registrations.find((r) => r.scopeURL === `${base}/` && !r.isDeleted);
      if (found) resolve(found.registrationId);
    }),
  );
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registration;
  const notifications = () =>
    page.evaluate(async () => {
      const shown = await (await navigator.serviceWorker.ready).getNotifications();
      return shown.map((n) => ({ title: n.title, body: n.body, url: n.data && n.data.url }));
    });

  const push = { type: "message", room: "design", seq: 42, from: "Bob", text: "the build is green" };
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: base, registrationId, data: JSON.stringify(push) });
  await expect
    .poll(notifications)
    .toEqual([{ title: "Bob in #design", body: "the build is green", url: "/r/design?at=42#m-42" }]);

  // Without its text (the workspace's default), the notification says there is a message.
  const { text: _, ...bare } = { ...push, seq: 43 };
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: base, registrationId, data: JSON.stringify(bare) });
  await expect
    .poll(notifications)
    .toEqual([{ title: "Bob in #design", body: "New message", url: "/r/design?at=43#m-43" }]);
  await context.close();
});

test("allowing notifications on the chat page goes on to subscribe this browser to pushes", async ({ browser }) => {
  // A guest with a name, on the chat page (not Settings): once notifications are
  // allowed, the page fetches the server's key and asks the browser to subscribe with
  // it. (The browser's own push service is not reachable from the tests, so the
  // subscription itself is where this test stops: push.rs hands the server one.)
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page, `${base}/`, "Gus");
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  const asked = page.waitForRequest((r) => r.url() === `${base}/push/key` && r.method() === "GET");
  await context.grantPermissions(["notifications"], { origin: base });
  const key = await (await asked).response();
  expect(key!.status()).toBe(200);
  expect((await key!.json()).key).toMatch(/^[A-Za-z0-9_-]{87}$/);
  await context.close();
});
