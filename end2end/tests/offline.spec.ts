import { chromium, Page } from "@playwright/test";
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { test, expect } from "./fixtures";
import { messageTexts, openChat, say, unique, uniqueRoom } from "./helpers";
import { freshDataDir, startServer, stopServer } from "../server";

// The installed app, on a server of its own with a copy of the site (a deploy changes
// it): the service worker (public/sw.js, versioned by server/src/worker.rs) keeps the
// app shell and the rooms last opened, so a room opens without a network, shows its
// recent messages and takes what is written, sent once the network is back; and a
// deploy is never hidden behind the copies kept before it.

test.use({ serviceWorkers: "allow" });

const port = Number(process.env.PALAVER_E2E_OFFLINE_PORT ?? 3231);
const base = `http://127.0.0.1:${port}`;
const data = freshDataDir();
const site = fs.mkdtempSync(path.join(os.tmpdir(), "palaver-site-"));
let server: ChildProcess;

const start = async () => (server = await startServer(port, data, { LEPTOS_SITE_ROOT: site }));

test.beforeAll(async () => {
  fs.cpSync(path.resolve(__dirname, "../../target/site"), site, { recursive: true });
  await start();
});

test.afterAll(async () => {
  await stopServer(server);
  fs.rmSync(site, { recursive: true, force: true });
});

/** The page's caches by name (Palaver's: a shell and pages, per version). */
const cacheNames = (page: Page) => page.evaluate(async () => (await caches.keys()).sort());

/** Whether the worker keeps the room's page (in a cache of any version). */
const keeps = (page: Page, room: string) =>
  page.evaluate(async (room) => {
    for (const name of await caches.keys()) {
      if (name.startsWith("palaver-pages-") && (await (await caches.open(name)).match(`${location.origin}/r/${room}`)))
        return true;
    }
    return false;
  }, room);

/** Waits until the worker answers for the page, then loads it again: kept for offline. */
async function keptByWorker(page: Page, room: string) {
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await page.reload();
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect.poll(() => keeps(page, room)).toBe(true);
}

test("the app meets the browser's install criteria: manifest, worker and icons", async ({}, testInfo) => {
  // A profile on disk: Chromium offers no install in an incognito-like profile.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "palaver-profile-"));
  const { launchOptions } = testInfo.project.use as { launchOptions: object };
  const context = await chromium.launchPersistentContext(profile, { ...launchOptions, serviceWorkers: "allow" });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${base}/`);
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    const cdp = await context.newCDPSession(page);
    const manifest = await cdp.send("Page.getAppManifest");
    expect(manifest.url).toBe(`${base}/manifest.webmanifest`);
    expect(manifest.errors).toEqual([]);
    const errors = async () =>
      (await cdp.send("Page.getInstallabilityErrors")).installabilityErrors.map((e) => e.errorId);
    await expect.poll(errors).toEqual([]);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test("offline, a room opens with its recent messages, and what is written is sent once the network is back", async ({
  browser,
}) => {
  const room = uniqueRoom("offline");
  const annContext = await browser.newContext();
  const ann = await annContext.newPage();
  await openChat(ann, `${base}/r/${room}`, "Ann");
  const bob = await (await browser.newContext()).newPage();
  await openChat(bob, `${base}/r/${room}`, "Bob");
  const said = [unique("one"), unique("two"), unique("three")];
  for (const text of said) await say(bob, text);
  await expect(messageTexts(ann)).toHaveText(said);
  await keptByWorker(ann, room);

  // The network goes, and the server with it: nothing can answer but the worker.
  await annContext.setOffline(true);
  await stopServer(server);
  await ann.reload();
  await expect(ann.getByTestId("room-name")).toHaveText(`#${room}`);
  await expect(messageTexts(ann)).toHaveText(said);
  const status = ann.getByTestId("connection-status");
  await expect(status).toHaveAttribute("data-status", "offline");
  await expect(status).toHaveText("Offline: what you write is sent when you are back");

  const written = [unique("written offline"), unique("and again")];
  for (const text of written) await say(ann, text);
  for (const text of written) {
    await expect(ann.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "pending");
  }

  // Back: sent in order, once each, and kept by the server.
  await start();
  await annContext.setOffline(false);
  await expect(status).toHaveAttribute("data-status", "connected", { timeout: 20_000 });
  for (const text of written) {
    await expect(ann.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");
  }
  await expect(messageTexts(bob)).toHaveText([...said, ...written], { timeout: 20_000 });
  const later = await (await browser.newContext({ serviceWorkers: "block" })).newPage();
  await openChat(later, `${base}/r/${room}`, "Cy");
  await expect(messageTexts(later)).toHaveText([...said, ...written]);
});

test("after a deploy the next load is the new build's, and the old build's caches are gone", async ({ browser }) => {
  const room = uniqueRoom("deploy");
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page, `${base}/r/${room}`, "Di");
  const text = unique("before the deploy");
  await say(page, text);
  await expect(page.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");
  await keptByWorker(page, room);
  const before = await cacheNames(page);
  expect(before).toHaveLength(2);
  const build = () =>
    page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--palaver-build").trim());
  expect(await build()).toBe("");

  // A deploy: the same data, a new build of the page (its style sheet changed).
  await stopServer(server);
  fs.appendFileSync(path.join(site, "pkg/palaver.css"), '\n:root { --palaver-build: "2"; }\n');
  await start();
  await page.reload();
  await expect.poll(build).toBe('"2"');
  // The new worker took over: its caches only, with the room kept.
  await expect
    .poll(async () => {
      const now = await cacheNames(page);
      return now.length === 2 && now.every((name) => !before.includes(name));
    })
    .toBe(true);

  // Offline, the new build's copy answers.
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "offline");
  expect(await build()).toBe('"2"');
  await expect(page.getByTestId("message").filter({ hasText: text })).toBeVisible();
  await context.setOffline(false);
});

test("signing out forgets the rooms this browser kept", async ({ browser }) => {
  const room = uniqueRoom("private");
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page, `${base}/r/${room}`, "Eve");
  await say(page, unique("for Eve's eyes"));
  await keptByWorker(page, room);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(`${base}/`);
  await expect(page.getByTestId("name-form")).toBeVisible();
  await expect.poll(() => keeps(page, room)).toBe(false);
  // Offline now, the room is not there to open.
  await context.setOffline(true);
  await page.goto(`${base}/r/${room}`).catch(() => {});
  await expect(page.getByText("You are offline, and this page was not opened here before.")).toBeVisible();
  await context.setOffline(false);
});
