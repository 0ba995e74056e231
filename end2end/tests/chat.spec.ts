import { test, expect } from "./fixtures";
import { messageTexts, openChat, person, say, unique, uniqueRoom } from "./helpers";
import { postAs } from "./speaker";
import { lockStore, sharedDataDir } from "../server";

test("two people chat both ways, and see the same order", async ({ browser }) => {
  const alice = await person(browser, "Alice");
  const bob = await person(browser, "Bob");

  const hello = unique("hello bob");
  const reply = unique("hi alice");
  await say(alice, hello);
  await expect(bob.getByTestId("message-list").getByText(hello)).toBeVisible();
  await say(bob, reply);
  await expect(alice.getByTestId("message-list").getByText(reply)).toBeVisible();

  const order = async (page: typeof alice) =>
    (await messageTexts(page).allTextContents()).filter((t) => t === hello || t === reply);
  await expect.poll(() => order(alice)).toEqual([hello, reply]);
  await expect.poll(() => order(bob)).toEqual([hello, reply]);

  // Each message shows the time it was sent, and the sender sees it as sent.
  const mine = alice.getByTestId("message").filter({ hasText: hello });
  await expect(mine.getByTestId("message-time")).toHaveText(/^\d{1,2}:\d\d [AP]M$/);
  await expect(mine).toHaveAttribute("data-state", "sent");

  // A screen reader names the author: "You" on one's own message, the name on others'.
  expect(await mine.ariaSnapshot()).toMatch(/\bYou\b/);
  const theirs = bob.getByTestId("message").filter({ hasText: hello });
  expect(await theirs.ariaSnapshot()).toContain("Alice");
  expect(await theirs.ariaSnapshot()).not.toMatch(/\bYou\b/);
});

test("Enter sends and clears the box; blank text is not sent", async ({ page }) => {
  await openChat(page);
  const input = page.getByTestId("composer-input");
  await expect(input).toHaveAttribute("placeholder", /message/i);
  const send = page.getByTestId("send-button");

  await input.fill("   ");
  await expect(send).toBeDisabled();
  const before = await page.getByTestId("message").count();
  await input.press("Enter");

  const text = unique("sent with enter");
  await input.fill(text);
  await expect(send).toBeEnabled();
  await input.press("Enter");
  await expect(input).toHaveValue("");
  await expect(input).toBeFocused();
  await expect(page.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");
  // The message sent after the blank one is the only new one: the blank one never showed.
  await expect(page.getByTestId("message")).toHaveCount(before + 1);

  const clicked = unique("sent with the button");
  await input.fill(clicked);
  await send.click();
  await expect(messageTexts(page).filter({ hasText: clicked })).toHaveCount(1);
  // Sent with the button, the box takes the focus back for the next message.
  await expect(input).toBeFocused();
});

test("markup typed into the box is shown as text and never runs", async ({ browser }) => {
  const sender = await person(browser, "Sender");
  const reader = await person(browser, "Reader");
  const marker = unique("xss");
  const evil = `<script>window.__pwned = true</script><img src=x onerror="window.__pwned = true"><b>${marker}</b>`;
  await say(sender, evil);
  for (const page of [sender, reader]) {
    const shown = messageTexts(page).filter({ hasText: marker });
    await expect(shown).toHaveText(evil);
    await expect(page.getByTestId("message-list").locator("script, img, b")).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  }
  // A page opened afterwards gets it from history, still as text.
  const late = await person(browser, "Late");
  await expect(messageTexts(late).filter({ hasText: marker })).toHaveText(evil);
  expect(await late.evaluate(() => (window as any).__pwned)).toBeUndefined();
});

test("a page opened later shows the recent messages", async ({ browser }) => {
  const first = await person(browser, "First");
  const text = unique("before you came");
  await say(first, text);
  await expect(first.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");

  const second = await person(browser, "Second");
  await expect(second.getByTestId("message-list").getByText(text)).toBeVisible();
});

test("@nojs the server-rendered page is complete without JavaScript", async ({ page, request }) => {
  const response = await request.get("/");
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('data-testid="message-list"');
  expect(html).toContain('data-testid="composer-input"');
  expect(html).toContain('data-testid="send-button"');

  await page.goto("/");
  await expect(page).toHaveTitle("#lobby · Palaver");
  await expect(page.getByRole("heading", { name: "#lobby" })).toBeVisible();
  await expect(page.getByTestId("message-list")).toBeVisible();
  await expect(page.getByTestId("composer-input")).toBeVisible();
  await expect(page.getByTestId("composer-input")).toHaveAttribute("placeholder", /message/i);
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText(/connecting/i);
  await expect(page.getByText(/needs JavaScript/)).toBeVisible();
});

test("@nojs a room's messages are in the server-rendered page, with their authors", async ({ page, baseURL }) => {
  const room = uniqueRoom("nojs");
  const text = unique("said before you came");
  await postAs(baseURL!, "Nadia", room, [text]);

  await page.goto(`/r/${room}`);
  // JavaScript really is off: the page says it needs it.
  await expect(page.getByText(/needs JavaScript/)).toBeVisible();
  const row = page.getByTestId("message").filter({ hasText: text });
  await expect(row).toHaveCount(1);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("message-author")).toHaveText("Nadia");
  await expect(row.getByTestId("message-text")).toHaveText(text);
  await expect(row.getByTestId("message-time")).toHaveText(/^\d{1,2}:\d\d [AP]M$/);
  await expect(page.getByText("No messages yet")).toHaveCount(0);
});

test("a message the server cannot store is shown as not sent, and Retry sends it", async ({ browser }) => {
  const room = uniqueRoom("store");
  const fay = await person(browser, "Fay", `/r/${room}`);
  const gil = await person(browser, "Gil", `/r/${room}`);
  const text = unique("stored on the second try");
  const mine = fay.getByTestId("message").filter({ hasText: text });

  // Another process holds the database's write lock: the server cannot commit.
  const lock = await lockStore(sharedDataDir());
  try {
    await say(fay, text);
    await expect(mine).toBeVisible();
    // The server gives up (at the latest after its busy timeout, 5 s) and says so.
    await expect(mine).toHaveAttribute("data-state", "failed", { timeout: 15_000 });
    await expect(mine).toContainText("Not sent: messages cannot be stored or loaded right now; try again");
    await expect(mine.getByRole("button", { name: "Retry" })).toBeVisible();
  } finally {
    await lock.release();
  }

  await mine.getByTestId("retry").click();
  await expect(mine).toHaveAttribute("data-state", "sent");
  await expect(mine.getByTestId("retry")).toHaveCount(0);
  await expect(mine).not.toContainText("Not sent");
  await expect(messageTexts(gil).filter({ hasText: text })).toHaveCount(1);
  // Once each: after a later message has arrived on both pages, still one copy.
  const later = unique("after the retry");
  await say(gil, later);
  for (const page of [fay, gil]) {
    await expect(messageTexts(page).filter({ hasText: later })).toHaveCount(1);
    await expect(messageTexts(page).filter({ hasText: text })).toHaveCount(1);
  }
});
