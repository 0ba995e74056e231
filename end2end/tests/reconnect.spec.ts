import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { messageTexts, openChat, say, unique, uniqueRoom, watchedPerson, Traffic } from "./helpers";
import { Speaker } from "./speaker";
import { freshDataDir, startServer, stopServer } from "../server";

// A server of this test's own, so it can be stopped and started again.
const port = Number(process.env.PALAVER_E2E_RESTART_PORT ?? 3218);

test("the page reconnects by itself after the server restarts, and sends what waited", async ({ page }) => {
  // The same data directory across the restart, as a real deployment has.
  const data = freshDataDir();
  let server = await startServer(port, data);
  try {
    await openChat(page, `http://127.0.0.1:${port}/`);
    const status = page.getByTestId("connection-status");
    await expect(status).toHaveText("Connected");

    await stopServer(server);
    await expect(status).toHaveAttribute("data-status", "reconnecting");
    await expect(status).toHaveText(/reconnecting/i);

    // Typed while the server is down: shown at once, pending.
    const text = unique("typed while offline");
    await say(page, text);
    const message = page.getByTestId("message").filter({ hasText: text });
    await expect(message).toHaveAttribute("data-state", "pending");

    server = await startServer(port, data);
    await expect(status).toHaveAttribute("data-status", "connected", { timeout: 20_000 });
    await expect(message).toHaveAttribute("data-state", "sent");
    await expect(page.getByTestId("message").filter({ hasText: text })).toHaveCount(1);

    // And the restarted server delivered it to others too.
    const other = await (await page.context().browser()!.newContext()).newPage();
    await openChat(other, `http://127.0.0.1:${port}/`, "Other");
    await expect(other.getByTestId("message-list").getByText(text)).toBeVisible();
  } finally {
    await stopServer(server);
  }
});

/** Takes the page offline and waits until its chat socket is really closed. */
async function goOffline(page: Page, { sockets }: Traffic) {
  await page.context().setOffline(true);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "offline", {
    timeout: 15_000,
  });
  await expect.poll(() => sockets.length > 0 && sockets.every((ws) => ws.isClosed())).toBe(true);
}

async function comeBack(page: Page) {
  await page.context().setOffline(false);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected", {
    timeout: 15_000,
  });
}

test("a page offline while others post shows every missed message when it is back, in order, once each", async ({
  browser,
  baseURL,
}) => {
  const room = uniqueRoom("missed");
  const pat = await Speaker.connect(baseURL!, "Pat");
  try {
    await pat.join(room);
    const before = ["before 1", "before 2", "before 3"];
    const beforeSeqs = await pat.post(room, before);
    const { page, traffic } = await watchedPerson(browser, "Rita", `/r/${room}`);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual(before);

    await goOffline(page, traffic);
    const offlineSockets = traffic.sockets.length;
    const missed = Array.from({ length: 8 }, (_, i) => `missed ${i + 1}`);
    await pat.post(room, missed);
    // Stored and sent to the room while the page had no socket: nothing reached it.
    expect(await messageTexts(page).allTextContents()).toEqual(before);

    await comeBack(page);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual([...before, ...missed]);
    // It resumed on a new socket, after the last message it had.
    const joins = traffic.sent.filter((s) => s.socket >= offlineSockets && s.frame.type === "join").map((s) => s.frame);
    expect(joins).toContainEqual({ type: "join", room, after: beforeSeqs[beforeSeqs.length - 1] });
    // Nothing comes twice later: a message posted afterwards arrives alone.
    await pat.post(room, ["after"]);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual([...before, ...missed, "after"]);
  } finally {
    pat.close();
  }
});

test("a page offline while more than 500 messages are posted comes back showing the newest ones, whole", async ({
  browser,
  baseURL,
}) => {
  const room = uniqueRoom("flood");
  const pat = await Speaker.connect(baseURL!, "Pat");
  try {
    await pat.join(room);
    const early = Array.from({ length: 5 }, (_, i) => `early ${i + 1}`);
    await pat.post(room, early);
    const { page, traffic } = await watchedPerson(browser, "Rita", `/r/${room}`);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual(early);

    await goOffline(page, traffic);
    // More than the 500 (MAX_REPLAY) a resume replays.
    const flood = Array.from({ length: 520 }, (_, i) => `flood ${i + 1}`);
    const floodSeqs = await pat.post(room, flood);
    const all = [...early, ...flood];

    await comeBack(page);
    // The room's newest page (50), in order, with nothing from before the gap.
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual(flood.slice(-50));
    const seqs = await page.getByTestId("message").evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
    expect(seqs).toEqual(floodSeqs.slice(-50));
    await expect(page.getByTestId("load-older")).toBeVisible();

    // Live again: the next message follows on, once.
    await pat.post(room, ["after the flood"]);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual([...flood.slice(-50), "after the flood"]);

    // Older pages join on without a gap or a repeat.
    await page.getByTestId("load-older").click();
    await expect.poll(() => page.getByTestId("message").count()).toBeGreaterThan(51);
    const shown = await messageTexts(page).allTextContents();
    expect(shown).toEqual([...all.slice(-(shown.length - 1)), "after the flood"]);
  } finally {
    pat.close();
  }
});
