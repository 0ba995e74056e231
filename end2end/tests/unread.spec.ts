import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { openChat, unique, uniqueRoom, watch } from "./helpers";
import { Speaker } from "./speaker";

// Catching up: while I am away, messages in rooms I have opened and mentions of me
// anywhere are counted in the room list, the title and the icon, in every tab of mine;
// a room opens at its first unread message under a "New" line; reading (or "mark all
// as read") clears them everywhere.

/** A room's row in the page's room list. */
const row = (page: Page, room: string) => page.locator(`[data-testid="room-entry"][data-room="${room}"]`);

test("away, then back: counts, title and icon; the New line; reading clears every tab", async ({ browser, baseURL }) => {
  const [design, ops, home] = [uniqueRoom("design"), uniqueRoom("ops"), uniqueRoom("home")];
  const context = await browser.newContext();
  // A tab of Ann's in the background (never in front: it never reads), in #ops, so
  // that "@Ann" there names her.
  const behind = await context.newPage();
  await behind.addInitScript(() => {
    document.hasFocus = () => false;
  });
  await openChat(behind, `/r/${ops}`, "Ann");
  // Ann reads #design, then goes to #home.
  const bob = await Speaker.connect(baseURL!, "Bob");
  await bob.join(design);
  await bob.join(ops);
  await bob.post(design, ["before you left"]);
  const ann = await context.newPage();
  const traffic = watch(ann);
  await openChat(ann, `/r/${design}`, "Ann");
  await expect(ann.getByTestId("message-text").filter({ hasText: "before you left" })).toBeVisible();
  await expect.poll(() => traffic.sent.some(({ frame }) => frame.type === "read" && frame.room === design)).toBe(true);
  await ann.goto(`/r/${home}`);
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");

  // While she is in #home: three in #design, and one naming her in #ops.
  const news = [unique("first new"), unique("second new"), unique("third new")];
  await bob.post(design, news);
  await bob.post(ops, ["@Ann are you there?"]);
  for (const page of [ann, behind]) {
    await expect(row(page, design)).toHaveAttribute("data-unread", "3");
    await expect(row(page, design)).not.toHaveAttribute("data-mentions");
    await expect(row(page, ops)).toHaveAttribute("data-unread", "1");
    await expect(row(page, ops)).toHaveAttribute("data-mentions", "1");
  }
  await expect(row(ann, design).getByRole("link")).toHaveAccessibleName(`#${design} · 3 unread`);
  await expect(row(ann, design).getByRole("link")).toHaveCSS("font-weight", "700");
  await expect(ann).toHaveTitle(`(4) #${home} · Palaver`);
  // On a phone the list is behind the Rooms button, which says what is unread elsewhere.
  await ann.setViewportSize({ width: 390, height: 800 });
  const menu = ann.getByTestId("menu-button");
  await expect(menu).toBeVisible();
  await expect(menu).toHaveAccessibleName("Rooms · 4 unread · 1 mentioning you");
  await expect(menu).toHaveAttribute("data-unread", "4");
  await expect(menu).toHaveAttribute("data-mentions", "1");
  await ann.setViewportSize({ width: 1280, height: 720 });
  await expect(ann.locator("link[rel=icon]")).toHaveAttribute("href", "/favicon-mention.svg");
  // Accessible with the counts shown (axe: the WCAG A and AA rules, best practices).
  const axe = await new AxeBuilder({ page: ann })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);

  // Back in #design: the New line above the first message she has not seen; read.
  await row(ann, design).getByRole("link").click();
  const first = ann.getByTestId("message").filter({ hasText: news[0] });
  await expect(first).toHaveAttribute("data-new", "New");
  await expect(ann.locator("[data-new]")).toHaveCount(1);
  for (const page of [ann, behind]) {
    await expect(row(page, design)).not.toHaveAttribute("data-unread");
  }
  await expect(ann).toHaveTitle(`(1) #${design} · Palaver`);

  // "Mark all as read" on #ops, from the list: gone in both tabs, and the icon's dot.
  await row(ann, ops).getByTestId("mark-read").click();
  for (const page of [ann, behind]) {
    await expect(row(page, ops)).not.toHaveAttribute("data-unread");
  }
  await expect(ann).toHaveTitle(`#${design} · Palaver`);
  await expect(ann.locator("link[rel=icon]")).toHaveAttribute("href", "/favicon.svg");
  await expect(row(ann, ops).getByTestId("mark-read")).toBeHidden();

  // Kept by the server: after a reload nothing is unread, and no New line.
  await ann.reload();
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect(ann.getByTestId("message").filter({ hasText: news[2] })).toBeVisible();
  await expect(ann.locator("[data-new]")).toHaveCount(0);
  await expect(row(ann, ops)).not.toHaveAttribute("data-unread");
  bob.close();
  await context.close();
});

test("a room with many unread opens at the first of them, far back", async ({ browser, baseURL }) => {
  const [room, home] = [uniqueRoom("busy"), uniqueRoom("home")];
  const bob = await Speaker.connect(baseURL!, "Bob");
  await bob.join(room);
  await bob.post(room, ["already read"]);
  const context = await browser.newContext();
  const ann = await context.newPage();
  const traffic = watch(ann);
  await openChat(ann, `/r/${room}`, "Ann");
  await expect.poll(() => traffic.sent.some(({ frame }) => frame.type === "read" && frame.room === room)).toBe(true);
  await ann.getByTestId("join-room-input").fill(home);
  await ann.getByTestId("join-room-button").click();
  await expect(ann.getByTestId("room-name")).toHaveText(`#${home}`);

  const first = unique("the first you missed");
  await bob.post(room, [first, ...Array.from({ length: 119 }, (_, i) => `later ${i}`)]);
  await expect(row(ann, room)).toHaveAttribute("data-unread", "120");

  // The server's page for her opens there too: the page around it, above the newest
  // (a gap between), the New line on it; the browser then loads nothing more for it.
  const html = await (await ann.request.get(`/r/${room}`)).text();
  expect(html).toMatch(new RegExp(`data-new="New"[^>]*>(?:(?!</li>).)*${first}`, "s"));
  expect(html.match(/data-new=/g)).toHaveLength(1);
  expect(html).toContain(`data-testid="load-between"`);
  expect(html).toContain("later 118");
  const direct = await context.newPage();
  const directTraffic = watch(direct);
  await direct.goto(`/r/${room}`);
  await expect(direct.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const directLine = direct.getByTestId("message").filter({ hasText: first });
  await expect(directLine).toHaveAttribute("data-new", "New");
  await expect(directLine).toBeInViewport();
  expect(directTraffic.sent.filter(({ frame }) => frame.type === "around")).toEqual([]);
  await direct.close();

  await row(ann, room).getByRole("link").click();
  const line = ann.getByTestId("message").filter({ hasText: first });
  await expect(line).toHaveAttribute("data-new", "New");
  await expect(line).toBeInViewport();
  // Not at the newest: still unread until she gets there.
  await expect(row(ann, room)).toHaveAttribute("data-unread", "120");
  await ann.getByTestId("message-list").evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await expect(async () => {
    await ann.getByTestId("message-list").evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await expect(row(ann, room)).not.toHaveAttribute("data-unread", { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  bob.close();
});
