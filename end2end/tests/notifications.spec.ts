import { Page, BrowserContext } from "@playwright/test";
import { test, expect } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { openChat, uniqueRoom } from "./helpers";
import { Speaker } from "./speaker";

// Desktop notifications: asked for only after a click; a message that mentions me, or
// any in a room set to "All messages", when it is not on screen; one tab of the browser
// shows it; a click opens it. Muted rooms tell of nothing and show a dot, not a count.

/**
 * Records the page's notifications (the browser's own Notification, watched), its
 * permission requests, and lets the test say whether the tab is hidden.
 */
async function watchNotifications(context: BrowserContext) {
  await context.addInitScript(() => {
    const w = window as any;
    const Real = window.Notification;
    w.__notified = [];
    w.__asked = 0;
    w.__hidden = false;
    Object.defineProperty(Document.prototype, "hidden", { get: () => w.__hidden, configurable: true });
    class Watched extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        w.__notified.push(this);
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission(callback?: NotificationPermissionCallback) {
        w.__asked += 1;
        return Real.requestPermission(callback);
      }
    }
    w.Notification = Watched;
  });
}

/** The notifications a page showed: title, body and tag. */
const shown = (page: Page) =>
  page.evaluate(() => (window as any).__notified.map((n: Notification) => ({ title: n.title, body: n.body })));

const row = (page: Page, room: string) => page.locator(`[data-testid="room-entry"][data-room="${room}"]`);

/** Moves `page` to `room` through the page's own "Join or create a room" box. */
async function goTo(page: Page, room: string) {
  await page.getByTestId("join-room-input").fill(room);
  await page.getByTestId("join-room-button").click();
  await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
}

test("asked for after a click; one tab shows what mentions me or a room set to all; a click opens it; muted is quiet", async ({
  browser,
  baseURL,
}) => {
  const [home, design] = [uniqueRoom("home"), uniqueRoom("design")];
  const context = await browser.newContext();
  await watchNotifications(context);
  const bob = await Speaker.connect(baseURL!, "Bob");
  await bob.join(design);

  // Nothing is asked on load; the control asks, once clicked, and then goes.
  const first = await context.newPage();
  await openChat(first, `/r/${design}`, "Ann");
  const enable = first.getByTestId("enable-notifications");
  await expect(enable).toBeVisible();
  expect(await first.evaluate(() => (window as any).__asked)).toBe(0);
  const axe = await new AxeBuilder({ page: first })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
  await context.grantPermissions(["notifications"]);
  await enable.click();
  await expect(enable).toBeHidden();
  expect(await first.evaluate(() => (window as any).__asked)).toBe(1);

  // #design tells Ann of everything; she goes to #home.
  const level = first.getByTestId("notify-level");
  await expect(level).toHaveValue("mentions");
  // The control says which room it is for.
  await expect(first.getByLabel(`In #${design}, notify me of`)).toHaveValue("mentions");
  await level.selectOption("all");
  await goTo(first, home);
  await bob.post(design, ["the plan is ready"]);
  await expect.poll(() => shown(first)).toEqual([{ title: `Bob · #${design}`, body: "the plan is ready" }]);

  // A second tab of hers: each message is still shown once, by one of them.
  const second = await context.newPage();
  await openChat(second, `/r/${home}`, "Ann");
  await bob.post(design, ["second thought"]);
  await expect.poll(async () => (await shown(first)).length).toBe(2);
  // (Given time to show it, the other tab did not.)
  await first.waitForTimeout(500);
  expect(await shown(second)).toEqual([]);

  // The tab that showed them closes: the other takes over. A click on the
  // notification opens the room at the message.
  await first.close();
  const handedOver = () =>
    second.evaluate(async () => {
      const locks = await navigator.locks.query();
      return locks.held!.length === 1 && locks.pending!.length === 0;
    });
  await expect.poll(handedOver).toBe(true);
  await bob.post(design, ["third: look at this"]);
  await expect.poll(() => shown(second)).toEqual([{ title: `Bob · #${design}`, body: "third: look at this" }]);
  await second.evaluate(() => (window as any).__notified[0].dispatchEvent(new Event("click")));
  await expect(second).toHaveURL(new RegExp(`/r/${design}$`));
  await expect(second.locator(".message.highlighted")).toContainText("third: look at this");

  // Muted: nothing shown, and in the list a dot, not a count.
  await second.getByTestId("notify-level").selectOption("muted");
  await row(second, home).getByRole("link").click();
  await expect(second.getByTestId("room-name")).toHaveText(`#${home}`);
  await bob.post(design, ["muted one", "@Ann muted two"]);
  await expect(row(second, design)).toHaveAttribute("data-muted", "");
  await expect(row(second, design).getByRole("link")).toHaveAccessibleName(`#${design} · new messages, muted`);
  await expect(row(second, design)).not.toHaveAttribute("data-mentions");
  await expect(second).toHaveTitle(`#${home} · Palaver`);
  expect(await shown(second)).toHaveLength(1);

  // Kept on the server: a new tab sees #design muted.
  const third = await context.newPage();
  await openChat(third, `/r/${design}`, "Ann");
  await expect(third.getByTestId("notify-level")).toHaveValue("muted");

  // By default, what mentions me, when no tab of hers shows the room. (Her tab in
  // #design makes "@Ann" there name her.) While the third tab shows #design, the tab
  // that tells (the second, in #home) tells her nothing of it.
  await third.getByTestId("notify-level").selectOption("mentions");
  await expect(row(second, design)).not.toHaveAttribute("data-muted");
  await bob.post(design, ["@Ann you are looking at this"]);
  await expect(third.getByTestId("message-text").last()).toHaveText("@Ann you are looking at this");
  // (Given time to show it, the tab that tells did not.)
  await second.waitForTimeout(500);
  expect(await shown(second)).toHaveLength(1);
  expect(await shown(third)).toEqual([]);
  // Out of sight: the browser says so to the tab (the event the page hears).
  const hide = (page: Page) =>
    page.evaluate(() => {
      (window as any).__hidden = true;
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
  await hide(third);
  await hide(second);
  await bob.post(design, ["not for anyone", "@Ann a question"]);
  await expect.poll(() => shown(second)).toHaveLength(2);
  expect((await shown(second))[1]).toEqual({ title: `Bob · #${design}`, body: "@Ann a question" });
  expect(await shown(third)).toEqual([]);

  // A room she has never opened: "@Ann" there names her too, and she is told.
  const far = uniqueRoom("far");
  await bob.join(far);
  await bob.post(far, ["@Ann from a room you never opened"]);
  await expect.poll(() => shown(second)).toHaveLength(3);
  expect((await shown(second))[2]).toEqual({ title: `Bob · #${far}`, body: "@Ann from a room you never opened" });
  await expect(row(second, far)).toHaveAttribute("data-mentions", "1");
  bob.close();
  await context.close();
});

test("a visitor without a name has no notification settings", async ({ page }) => {
  await page.goto(`/r/${uniqueRoom("visit")}`);
  await expect(page.getByTestId("name-form")).toBeVisible();
  await expect(page.getByTestId("notify-level")).toBeHidden();
  await expect(page.getByTestId("enable-notifications")).toBeHidden();
});
