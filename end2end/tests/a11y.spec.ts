import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { openChat, say, unique, uniqueRoom } from "./helpers";
import { postAs } from "./speaker";

// An accessibility scan (axe-core: the WCAG 2.0-2.2 A and AA rules and its best practices) of each state of the
// page, in both themes and at a desktop's and a phone's width. No rule is turned off.

const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

async function scan(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).withTags(RULES).analyze();
  const found = results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect.soft(found, `axe violations: ${state}`).toEqual([]);
}

for (const scheme of ["light", "dark"] as const) {
  for (const width of [1280, 375]) {
    test(`no axe violations, ${scheme}, ${width} px: before a name, in a room with messages, the 404 page, the directory`, async ({ browser }) => {
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width, height: 800 } });
      const page = await context.newPage();
      const room = uniqueRoom("a11y");
      await page.goto(`/r/${room}`);
      await expect(page.getByTestId("name-form")).toBeVisible();
      await scan(page, "before a name is chosen");
      await openChat(page, `/r/${room}`, "Ann");
      await scan(page, "an empty room");
      for (const text of ["hello **there**", "a link: https://example.com", unique("third")]) {
        await say(page, text);
      }
      await expect(page.getByTestId("message")).toHaveCount(3);
      await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");
      await scan(page, "a room with messages");
      await page.goto("/nowhere");
      await scan(page, "the 404 page");
      await page.goto("/rooms");
      await expect(page.getByTestId("directory-room").first()).toBeVisible();
      await scan(page, "the directory of rooms");
      await context.close();
    });
  }
}

test("no axe violations with the picker, a reply, suggestions, someone typing, offline, and on a bad room page", async ({ browser }) => {
  const room = uniqueRoom("a11y-open");
  const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const ann = await context.newPage();
  await openChat(ann, `/r/${room}`, "Ann");
  const bob = await (await browser.newContext()).newPage();
  await openChat(bob, `/r/${room}`, "Bob");
  await say(bob, "what do you think?");
  const row = ann.getByTestId("message").filter({ hasText: "what do you think?" });
  await row.hover();
  await row.getByTestId("react-button").click();
  await row.getByTestId("reaction-picker").getByRole("button", { name: "🎉" }).click();
  await expect(row.getByTestId("reaction")).toHaveText("🎉 1");
  await row.hover();
  await row.getByTestId("react-button").click();
  await expect(row.getByTestId("reaction-picker")).toBeVisible();
  await scan(ann, "the reaction picker open, a reaction");
  await row.hover();
  await row.getByTestId("reply-button").click();
  await ann.getByTestId("composer-input").pressSequentially("@b");
  await expect(ann.getByTestId("mention-option")).toHaveText(["Bob"]);
  // The box names the list it offers from and the option Enter takes.
  await expect(ann.getByTestId("composer-input")).toHaveAttribute("aria-controls", "mention-list");
  await expect(ann.getByTestId("composer-input")).toHaveAttribute("aria-activedescendant", "mention-0");
  await expect(ann.getByTestId("mention-option")).toHaveAttribute("aria-selected", "true");
  await bob.getByTestId("composer-input").pressSequentially("typing");
  await expect(ann.getByTestId("typing")).toContainText("Bob is typing");
  await scan(ann, "replying, names suggested, someone typing");
  await ann.getByTestId("composer-input").press("Enter");
  await expect(ann.getByTestId("composer-input")).not.toHaveAttribute("aria-activedescendant", /./);
  await ann.getByTestId("composer-input").pressSequentially("yes");
  await ann.getByTestId("composer-input").press("Enter");
  await expect(ann.getByTestId("reply-quote")).toHaveCount(1);
  await context.setOffline(true);
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "offline");
  await scan(ann, "offline, with a reply");
  await context.setOffline(false);
  await ann.goto("/r/Not A Room");
  await scan(ann, "a bad room address");
});

test("the keyboard alone: skip to the message box, send, scroll the list, react", async ({ browser }) => {
  const room = uniqueRoom("keys");
  const page = await (await browser.newContext()).newPage();
  await openChat(page, `/r/${room}`, "Kim");
  await say(page, "first");
  await expect(page.getByTestId("message")).toHaveAttribute("data-state", "sent");
  await page.goto(`/r/${room}`);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("skip-link")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("composer-input")).toBeFocused();
  await page.keyboard.type("from the keyboard");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("message-text")).toHaveText(["first", "from the keyboard"]);
  // The list is one Tab stop: Up and Down go from message to message, Left and Right
  // through the focused one's actions (its toolbar shows), Esc back to the message.
  await page.getByTestId("message-list").focus();
  await expect(page.getByTestId("message-list")).toBeFocused();
  const messages = page.getByTestId("message");
  await page.keyboard.press("ArrowUp");
  await expect(messages.nth(1)).toBeFocused();
  await page.keyboard.press("ArrowUp");
  await expect(messages.nth(0)).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(messages.nth(1)).toBeFocused();
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowRight");
  await expect(page.getByTestId("reply-button").first()).toBeFocused();
  await expect(messages.nth(0).locator(".actions")).toHaveCSS("opacity", "1");
  await page.keyboard.press("Escape");
  await expect(messages.nth(0)).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await expect(page.getByTestId("react-button").first()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("pick-reaction").first()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("reaction")).toHaveText(["👍 1"]);
  // The picker closed, the focus is back on React, in the row drawn anew with its reaction.
  await expect(page.getByTestId("react-button").first()).toBeFocused();
  // In the picker the arrow keys move between the emoji (8 a row on a desktop), Home and
  // End to the ends; the picker is one Tab stop.
  await page.getByTestId("react-button").first().focus();
  await page.keyboard.press("Enter");
  const picks = page.getByTestId("pick-reaction");
  await expect(picks.first()).toBeFocused();
  for (const [key, at] of [["ArrowRight", 1], ["ArrowDown", 9], ["ArrowLeft", 8], ["ArrowUp", 0], ["End", 23], ["Home", 0]] as const) {
    await page.keyboard.press(key);
    await expect(picks.nth(at), key).toBeFocused();
  }
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Tab");
  await expect(page.locator("[data-testid=pick-reaction]:focus")).toHaveCount(0);
  await picks.nth(1).focus();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("reaction-picker")).toHaveCount(0);
  await page.getByTestId("react-button").first().focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("reaction-picker")).toBeVisible();
  await expect(page.getByTestId("pick-reaction").first()).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("reaction-picker")).toHaveCount(0);
  await expect(page.getByTestId("react-button").first()).toBeFocused();
  // Alt+Down and Alt+Up: the next room in the list ("keys-…" comes before "lobby"), and back.
  await page.keyboard.press("Alt+ArrowDown");
  await expect(page.getByTestId("room-name")).toHaveText("#lobby");
  await page.keyboard.press("Alt+ArrowUp");
  await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);
  await expect(page.getByTestId("message-text")).toHaveText(["first", "from the keyboard"]);
});

test("the message list is one Tab stop however many messages it shows, and their actions are still read out", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await openChat(page, `/r/${uniqueRoom("tabs")}`, "Kim");
  for (let n = 1; n <= 12; n++) await say(page, `note ${n}, see https://example.com/${n}`);
  await expect(page.getByTestId("message")).toHaveCount(12);
  await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");
  await page.getByTestId("message-list").focus();
  let presses = 0;
  while (!(await page.getByTestId("composer-input").evaluate((el) => el === document.activeElement)) && presses < 10) {
    await page.keyboard.press("Tab");
    presses++;
  }
  // (The one between: the composer's "change name".)
  expect(presses, "Tab presses from the list to the box to write in").toBeLessThanOrEqual(2);
  // From the top of the page: the skip link first, then the room list's controls, the
  // list, the composer; however many messages there are.
  await page.reload();
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  presses = 0;
  while (!(await page.getByTestId("composer-input").evaluate((el) => el === document.activeElement)) && presses < 60) {
    await page.keyboard.press("Tab");
    presses++;
  }
  expect(presses, "Tab presses from the top of the page to the box to write in").toBeLessThanOrEqual(20);
  // Out of the Tab order, but a screen reader finds each message's actions.
  const row = page.getByTestId("message").last();
  await expect(row.getByRole("toolbar", { name: "Message actions" }).getByRole("button", { name: "Reply" })).toHaveCount(1);
  await expect(row.getByRole("link", { name: "https://example.com/12" })).toHaveCount(1);
});

test("a screen reader hears each new message from someone else, briefly, from one live region", async ({ browser }) => {
  const room = uniqueRoom("announce");
  const ann = await (await browser.newContext()).newPage();
  await openChat(ann, `/r/${room}`, "Ann");
  const bob = await (await browser.newContext()).newPage();
  await openChat(bob, `/r/${room}`, "Bob");
  // One polite live region; the list and the typing line are not live regions.
  await expect(ann.locator("[aria-live]")).toHaveCount(1);
  const announcer = ann.getByTestId("announcer");
  await expect(announcer).toHaveAttribute("aria-live", "polite");
  await say(bob, "see you **at** noon");
  await expect(announcer).toHaveText("Bob: see you **at** noon");
  await bob.getByTestId("composer-input").pressSequentially("still typing");
  await expect(ann.getByTestId("typing")).toContainText("Bob is typing");
  await say(ann, "my own words");
  await expect(ann.getByTestId("message-text").last()).toHaveText("my own words");
  await expect(announcer).toHaveText("Bob: see you **at** noon");
  // Connection changes are a status, which screen readers announce.
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("role", "status");
});

test("installable: a manifest with icons, and a theme colour for each theme", async ({ page, request }) => {
  await page.goto("/");
  const manifestHref = await page.locator('link[rel="manifest"]').getAttribute("href");
  const manifest = await (await request.get(manifestHref!)).json();
  expect(manifest).toMatchObject({ name: "Palaver", start_url: "/", display: "standalone" });
  const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  for (const icon of manifest.icons) {
    const answer = await request.get(icon.src);
    expect(answer.status(), icon.src).toBe(200);
    expect(answer.headers()["content-type"], icon.src).toBe(icon.type);
  }
  await expect(page.locator('meta[name="theme-color"]')).toHaveCount(2);
  await expect(page.locator('meta[name="viewport"]')).toHaveAttribute("content", /viewport-fit=cover/);
});

test("on a touch screen a message's actions are behind its ⋯ button, each at least 44 px each way", async ({ browser }) => {
  const context = await browser.newContext({ hasTouch: true, isMobile: true, viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await openChat(page, `/r/${uniqueRoom("touch")}`, "Tia");
  await say(page, "big enough?");
  const row = page.getByTestId("message");
  await expect(row).toHaveAttribute("data-state", "sent");
  // Nothing but the ⋯ button under the message until it is tapped; then the toolbar,
  // Edit and Delete in its menu.
  await expect(row.locator(".actions")).toHaveCSS("opacity", "0");
  await row.getByRole("button", { name: "Message actions" }).tap();
  await expect(row.locator(".actions")).toHaveCSS("opacity", "1");
  await row.getByTestId("more-actions").tap();
  await expect(row.getByTestId("edit-button")).toBeVisible();
  for (const id of ["reply-button", "react-button", "more-actions", "edit-button", "delete-button", "send-button"]) {
    const box = (await page.getByTestId(id).first().boundingBox())!;
    expect(Math.min(box.width, box.height), id).toBeGreaterThanOrEqual(44);
  }
});

test("on a phone the reaction picker opens whole on the screen, under one's own newest message too", async ({ browser }) => {
  const context = await browser.newContext({ hasTouch: true, isMobile: true, viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await openChat(page, `/r/${uniqueRoom("picker")}`, "Tia");
  for (const text of ["one", "two", "three", "four", "five", "six", "seven", "eight", "the newest, mine"]) await say(page, text);
  const row = page.getByTestId("message").last();
  await expect(row).toHaveAttribute("data-state", "sent");
  await row.getByRole("button", { name: "Message actions" }).tap();
  await row.getByTestId("react-button").tap();
  const picker = row.getByTestId("reaction-picker");
  await expect(picker).toBeInViewport({ ratio: 1 });
  const box = (await picker.boundingBox())!;
  const list = (await page.getByTestId("message-list").boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(list.x);
  expect(box.x + box.width).toBeLessThanOrEqual(list.x + list.width);
  expect(box.y + box.height).toBeLessThanOrEqual(list.y + list.height + 0.5);
  await picker.getByRole("button", { name: "🎉" }).click();
  await expect(row.getByTestId("reaction")).toHaveText("🎉 1");
  await context.close();
});

test("on a phone the box to write in stays on screen above the on-screen keyboard", async ({ browser }) => {
  const context = await browser.newContext({ hasTouch: true, isMobile: true, viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await openChat(page, `/r/${uniqueRoom("keyboard")}`, "Kim");
  // The page asks the browser to resize it when the keyboard opens...
  await expect(page.locator('meta[name="viewport"]')).toHaveAttribute("content", /interactive-widget=resizes-content/);
  // ...and when it does (here: the keyboard takes 400 px), the box and its button stay whole in view.
  await page.getByTestId("composer-input").focus();
  await page.setViewportSize({ width: 375, height: 340 });
  for (const id of ["composer-input", "send-button"]) {
    await expect(page.getByTestId(id)).toBeInViewport({ ratio: 1 });
  }
  await page.keyboard.type("still here");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("message")).toHaveAttribute("data-state", "sent");
  await expect(page.getByTestId("composer-input")).toBeInViewport({ ratio: 1 });
});

test("on a phone the room list is a drawer: it keeps the focus, Esc and a tap outside close it", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  const room = uniqueRoom("drawer");
  await openChat(page, `/r/${room}`, "Pat");
  const drawer = page.getByTestId("room-list");
  const menu = page.getByTestId("menu-button");
  await expect(drawer).toBeHidden();
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await menu.click();
  await expect(drawer).toBeVisible();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await scan(page, "the room drawer open on a phone");
  // The focus goes in, and Tab goes round inside.
  const inside = () => page.evaluate(() => !!document.activeElement?.closest("#rooms-drawer"));
  await expect.poll(inside).toBe(true);
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    expect(await inside(), `after ${i + 1} Tab`).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(drawer).toBeHidden();
  await expect(menu).toBeFocused();
  await menu.click();
  await page.getByTestId("drawer-backdrop").click({ position: { x: 360, y: 400 } });
  await expect(drawer).toBeHidden();
  // Choosing a room goes there and closes the drawer.
  await menu.click();
  await page.getByTestId("room-entry").filter({ hasText: "#lobby" }).getByRole("link").click();
  await expect(page.getByTestId("room-name")).toHaveText("#lobby");
  await expect(drawer).toBeHidden();
});

test("no axe violations with 200 messages, with a form's error, and usable at 200% text size", async ({ browser, baseURL }) => {
  const room = uniqueRoom("a11y-many");
  await postAs(baseURL!, "Olga", room, Array.from({ length: 200 }, (_, i) => `message ${i}: **bold**, \`code\` and https://example.com/${i}`));
  const page = await (await browser.newContext()).newPage();
  await page.goto(`/r/${room}`);
  // The name form refuses a name of spaces, and says why.
  await page.getByTestId("name-input").fill("   ");
  await page.getByTestId("name-button").click();
  await expect(page.getByRole("alert")).toBeVisible();
  await scan(page, "the name form's error");
  // The join-a-room box refuses a name it cannot be, and says why.
  await page.getByTestId("join-room-input").fill("No Spaces!");
  await page.getByTestId("join-room-button").click();
  await expect(page.getByTestId("join-room-error")).toHaveText("A room name uses only lowercase letters, digits, - and _");
  await scan(page, "the join-a-room form's error");
  await openChat(page, `/r/${room}`, "Ann");
  await expect(page.getByTestId("message")).toHaveCount(50);
  // Older pages load (scrolling the button into view at the top may load one by itself).
  await page.getByTestId("load-older").click();
  await expect.poll(() => page.getByTestId("message").count()).toBeGreaterThanOrEqual(100);
  await scan(page, "a room with many messages");
  // Text at 200%: the box to write in and its button are still on screen and usable.
  await page.evaluate(() => (document.documentElement.style.fontSize = "200%"));
  await expect(page.getByTestId("composer-input")).toBeInViewport();
  await expect(page.getByTestId("send-button")).toBeInViewport();
  await say(page, "still fine at 200%");
  await expect(page.getByTestId("message-text").last()).toHaveText("still fine at 200%");
});
