import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { messageTexts, openChat, person, say, unique, uniqueRoom } from "./helpers";
import { postAs } from "./speaker";

test("two people in a room see each other's messages, presence and typing", async ({ browser }) => {
  const room = uniqueRoom("team");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);

  for (const page of [ann, bob]) {
    await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);
    await expect(page.getByTestId("online-names")).toHaveText("Ann, Bob");
  }
  // Who is online shows in the room's header; the room list shows no bare count.
  await expect(ann.getByTestId("online-count")).toHaveText("2");
  const sidebar = ann.locator(`[data-testid="room-entry"][data-room="${room}"]`);
  await expect(sidebar).toHaveText(`#${room}✓`);

  // Typing shows on the other page, and goes away after the message is sent.
  await bob.getByTestId("composer-input").pressSequentially("hello a", { delay: 20 });
  await expect(ann.getByTestId("typing")).toHaveText("Bob is typing…");
  await bob.getByTestId("composer-input").press("Enter");
  await expect(ann.getByTestId("message").filter({ hasText: "hello a" }).getByTestId("message-author")).toHaveText("Bob");
  await expect(ann.getByTestId("typing")).toHaveText("");

  const reply = unique("hi bob");
  await say(ann, reply);
  await expect(bob.getByTestId("message-list").getByText(reply)).toBeVisible();

  // Bob leaves: Ann sees it within a second or so.
  await bob.context().close();
  await expect(ann.getByTestId("online-names")).toHaveText("Ann", { timeout: 3_000 });
});

test("the room list keeps the keyboard's place when its rows are drawn anew", async ({ browser }) => {
  const room = uniqueRoom("focus");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const row = ann.locator(`[data-testid="room-entry"][data-room="${room}"]`);
  await row.getByRole("link").focus();
  // She opens a new room in another tab: the list is drawn again with it.
  const other = uniqueRoom("focus-other");
  await openChat(await ann.context().newPage(), `/r/${other}`, "Ann");
  await expect(ann.locator(`[data-testid="room-entry"][data-room="${other}"]`)).toHaveCount(1);
  await expect(row.getByRole("link")).toBeFocused();
  // Enter follows the focused link, without reloading the page.
  await ann.evaluate(() => ((window as unknown as { stay: boolean }).stay = true));
  await ann.getByTestId("room-list").locator('[data-room="lobby"] a').focus();
  await ann.keyboard.press("Enter");
  await expect(ann.getByTestId("room-name")).toHaveText("#lobby");
  expect(await ann.evaluate(() => (window as unknown as { stay?: boolean }).stay)).toBe(true);
});

test("the room box takes a room's name as the page shows it or as people type it", async ({ browser }) => {
  const room = uniqueRoom("design-team");
  const ann = await person(browser, "Ann", "/");
  const box = ann.getByTestId("join-room-input");
  for (const typed of [`#${room}`, room.toUpperCase(), ` # ${room.replace(/-/g, " ")} `]) {
    await ann.goto("/");
    await box.fill(typed);
    await box.press("Enter");
    await expect(ann.getByTestId("room-name")).toHaveText(`#${room}`);
    await expect(ann).toHaveURL(new RegExp(`/r/${room}$`));
  }
  // What cannot become a name is refused, in a sentence.
  await box.fill("#design!");
  await box.press("Enter");
  await expect(ann.getByTestId("join-room-error")).toHaveText("A room name uses only lowercase letters, digits, - and _");
  await expect(ann).toHaveURL(new RegExp(`/r/${room}$`));
});

test("typing stops showing a few seconds after the typist stops", async ({ browser }) => {
  const room = uniqueRoom("quiet");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  await bob.getByTestId("composer-input").pressSequentially("thinking", { delay: 20 });
  await expect(ann.getByTestId("typing")).toHaveText("Bob is typing…");
  await expect(ann.getByTestId("typing")).toHaveText("", { timeout: 8_000 });
});

test("reloading shows the room's history, rendered by the server", async ({ browser, request }) => {
  const room = uniqueRoom("history");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const texts = [unique("first"), unique("second <b>not bold</b>")];
  for (const t of texts) {
    await say(ann, t);
    await expect(ann.getByTestId("message").filter({ hasText: t })).toHaveAttribute("data-state", "sent");
  }
  // The page works entirely within its Content-Security-Policy.
  const violations: string[] = [];
  ann.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await ann.reload();
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect.poll(() => messageTexts(ann).allTextContents()).toEqual(texts);
  expect(violations).toEqual([]);

  // The HTML itself already holds them, escaped.
  const html = await (await request.get(`/r/${room}`)).text();
  expect(html).toContain(texts[0]);
  expect(html).toContain("second &lt;b&gt;not bold&lt;/b&gt;");
});

test("rooms do not leak into each other, and one page switches rooms without reloading", async ({
  browser,
  baseURL,
}) => {
  const red = uniqueRoom("red");
  const blue = uniqueRoom("blue");
  const ann = await person(browser, "Ann", `/r/${red}`);
  const bob = await person(browser, "Bob", `/r/${blue}`);
  const secret = unique("only for red");
  await say(ann, secret);
  await expect(ann.getByTestId("message").filter({ hasText: secret })).toHaveAttribute("data-state", "sent");
  // Posted in blue after the secret was sent to red: once Bob has it, he would have the
  // secret too if it had leaked.
  const later = unique("later in blue");
  await postAs(baseURL!, "Passer", blue, [later]);
  await expect(bob.getByTestId("message-list").getByText(later)).toBeVisible();
  await expect(bob.getByText(secret)).toHaveCount(0);

  // Bob goes to red through the sidebar box: same page, no reload.
  await bob.evaluate(() => ((window as any).__samePage = true));
  await bob.getByTestId("join-room-input").fill(red);
  await bob.getByTestId("join-room-button").click();
  await expect(bob).toHaveURL(new RegExp(`/r/${red}$`));
  await expect(bob.getByTestId("message-list").getByText(secret)).toBeVisible();
  expect(await bob.evaluate(() => (window as any).__samePage)).toBe(true);
  await expect(bob.getByTestId("online-names")).toHaveText("Ann, Bob");
  const back = unique("bob in red");
  await say(bob, back);
  await expect(ann.getByTestId("message-list").getByText(back)).toBeVisible();

  // Back and Forward move between the rooms, still on the same page.
  await bob.goBack();
  await expect(bob).toHaveURL(new RegExp(`/r/${blue}$`));
  await expect(bob.getByTestId("room-name")).toHaveText(`#${blue}`);
  await expect(bob.getByText(secret)).toHaveCount(0);
  await bob.goForward();
  await expect(bob).toHaveURL(new RegExp(`/r/${red}$`));
  await expect(bob.getByTestId("message-list").getByText(back)).toBeVisible();
  // A room in the sidebar (the lobby is always there) is a link that switches rooms in
  // place too.
  await bob.getByTestId("room-entry").filter({ hasText: "#lobby" }).getByRole("link").click();
  await expect(bob).toHaveURL(/\/$/);
  await expect(bob.getByTestId("room-name")).toHaveText("#lobby");
  expect(await bob.evaluate(() => (window as any).__samePage)).toBe(true);

  // A bad room name is explained, not sent anywhere.
  await bob.getByTestId("join-room-input").fill("Not A Room!");
  await bob.getByTestId("join-room-button").click();
  await expect(bob.getByTestId("join-room-error")).toContainText("A room name uses only lowercase");
});

test("switching rooms faster than the server allows ends in the last room, and out of the others", async ({
  browser,
  baseURL,
}) => {
  const go = async (page: Page, room: string) => {
    await page.getByTestId("join-room-input").fill(room);
    await page.getByTestId("join-room-button").click();
    await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);
  };
  const carolsRoom = uniqueRoom("carol");
  const last = uniqueRoom("last");
  const carol = await person(browser, "Carol", `/r/${carolsRoom}`);
  const ann = await person(browser, "Ann", `/r/${last}`);
  const bob = await person(browser, "Bob", "/");
  // Ten switches use up the joins and leaves Bob may make at once.
  for (let i = 0; i < 10; i++) {
    await go(bob, uniqueRoom(`hop${i}`));
  }
  // Refused at first, his page asks again until he is in Carol's room...
  await go(bob, carolsRoom);
  await expect(carol.getByTestId("online-names")).toHaveText("Bob, Carol", { timeout: 15_000 });
  // ...and leaving it at once, until he is out of it.
  await go(bob, last);
  await expect(bob.getByTestId("online-names")).toHaveText("Ann, Bob", { timeout: 15_000 });
  await expect(carol.getByTestId("online-names")).toHaveText("Carol", { timeout: 15_000 });
  const hello = unique("made it");
  await say(bob, hello);
  await expect(ann.getByTestId("message-list").getByText(hello)).toBeVisible();
  // Carol would have had it before a message posted in her room afterwards.
  const later = unique("later for carol");
  await postAs(baseURL!, "Passer", carolsRoom, [later]);
  await expect(carol.getByTestId("message-list").getByText(later)).toBeVisible();
  await expect(carol.getByText(hello)).toHaveCount(0);
});

test("a room moved to while offline is not called empty before it arrives", async ({ browser }) => {
  const busy = uniqueRoom("busy");
  const ann = await person(browser, "Ann", `/r/${busy}`);
  const said = unique("already here");
  await say(ann, said);
  await expect(ann.getByTestId("message").filter({ hasText: said })).toHaveAttribute("data-state", "sent");
  const bob = await person(browser, "Bob", `/r/${uniqueRoom("quiet")}`);
  await expect(bob.getByText("No messages yet")).toBeVisible();
  await bob.context().setOffline(true);
  await expect(bob.getByTestId("connection-status")).toHaveAttribute("data-status", "offline", { timeout: 15_000 });
  await bob.getByTestId("join-room-input").fill(busy);
  await bob.getByTestId("join-room-button").click();
  await expect(bob.getByTestId("room-name")).toHaveText(`#${busy}`);
  // Whatever the switch set off on the page (offline, nothing from the server can come)
  // has run by the next frames it renders.
  await bob.evaluate(() => new Promise((rendered) => requestAnimationFrame(() => requestAnimationFrame(rendered))));
  await expect(bob.getByText("No messages yet")).toHaveCount(0);
  await bob.context().setOffline(false);
  await expect(bob.getByTestId("message-list").getByText(said)).toBeVisible({ timeout: 15_000 });
  await expect(bob.getByText("No messages yet")).toHaveCount(0);
});

test("a message typed while offline is sent after reconnecting, exactly once", async ({ browser }) => {
  const room = uniqueRoom("offline");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  await ann.context().setOffline(true);
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "offline", { timeout: 15_000 });
  await expect(ann.getByTestId("connection-status")).toHaveText("Offline: what you write is sent when you are back");
  const text = unique("written offline");
  await say(ann, text);
  await expect(ann.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "pending");
  await ann.context().setOffline(false);
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected", { timeout: 15_000 });
  await expect(ann.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");
  await expect(bob.getByTestId("message-list").getByText(text)).toHaveCount(1);
  await expect(ann.getByTestId("message-list").getByText(text)).toHaveCount(1);
});

test("a new name is remembered and a rename is announced", async ({ browser }) => {
  const room = uniqueRoom("names");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  await ann.getByTestId("rename-button").click();
  await ann.getByTestId("name-input").fill("Annabel");
  await ann.getByTestId("name-button").click();
  await expect(ann.getByTestId("my-name")).toHaveText("Annabel");
  await expect(bob.getByTestId("rename-notice")).toHaveText("Ann is now known as Annabel");
  await expect(bob.getByTestId("online-names")).toHaveText("Annabel, Bob");
  await ann.reload();
  await expect(ann.getByTestId("my-name")).toHaveText("Annabel");
  await expect(ann.getByTestId("name-form")).toHaveCount(0);
});

test("@nojs a bad room address gets a clear page, not an error", async ({ page }) => {
  const response = await page.goto("/r/Not%20Valid");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("bad-room")).toContainText("not a valid room name");
  const missing = await page.goto("/no/such/page");
  expect(missing?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toContainText("Page not found");
  await page.getByRole("link", { name: "Go to the lobby" }).click();
  await expect(page.getByTestId("room-name")).toHaveText("#lobby");
});

/** Posts `count` messages, `old 1` to `old N`, to `room` from Node. */
async function seed(baseURL: string, room: string, count: number) {
  await postAs(baseURL, "Seeder", room, Array.from({ length: count }, (_, i) => `old ${i + 1}`));
}

test("scrolling up loads older messages until the beginning", async ({ browser, baseURL }) => {
  const room = uniqueRoom("long");
  // Written before Ann first comes (had she been reading along, a reload could open the
  // room at the first message she had not seen yet).
  await seed(baseURL!, room, 120);
  const ann = await person(browser, "Ann", `/r/${room}`);
  await expect(ann.getByTestId("message")).toHaveCount(50);
  await expect(messageTexts(ann).last()).toHaveText("old 120");
  // The newest is in view; the oldest shown is not.
  await expect(messageTexts(ann).last()).toBeInViewport();
  for (const expected of [100, 120]) {
    // Scrolled to the top again if the page was still keeping the reader's place after
    // the previous page arrived (it moves the list by that page's height).
    await expect(async () => {
      await ann.getByTestId("message-list").evaluate((el) => (el.scrollTop = 0));
      await expect(ann.getByTestId("message")).toHaveCount(expected, { timeout: 1_000 });
    }).toPass();
  }
  await expect(messageTexts(ann).first()).toHaveText("old 1");
  await expect(ann.getByTestId("load-older")).toHaveCount(0);
  const all = await messageTexts(ann).allTextContents();
  expect(all).toEqual(Array.from({ length: 120 }, (_, i) => `old ${i + 1}`));
});

test("new messages below show a marker while the reader is scrolled up", async ({ browser, baseURL }) => {
  const room = uniqueRoom("marker");
  const ann = await person(browser, "Ann", `/r/${room}`);
  await seed(baseURL!, room, 60);
  await expect(ann.getByTestId("message")).toHaveCount(60);
  const bob = await person(browser, "Bob", `/r/${room}`);
  // At the bottom: a new message scrolls into view, no marker.
  await say(bob, "first news");
  await expect(ann.getByTestId("message-list").getByText("first news")).toBeInViewport();
  await expect(ann.getByTestId("new-messages")).toHaveCount(0);
  // Scrolled up a little: the view stays put and the marker appears.
  await ann.getByTestId("message-list").evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  await say(bob, "second news");
  await expect(ann.getByTestId("new-messages")).toBeVisible();
  await expect(ann.getByTestId("message-list").getByText("second news")).not.toBeInViewport();
  // It never covers what the reader reads: it has a line of its own under the list.
  const marker = (await ann.getByTestId("new-messages").boundingBox())!;
  const list = (await ann.getByTestId("message-list").boundingBox())!;
  expect(marker.y).toBeGreaterThanOrEqual(list.y + list.height - 0.5);
  await ann.getByTestId("new-messages").click();
  await expect(ann.getByTestId("message-list").getByText("second news")).toBeInViewport();
  await expect(ann.getByTestId("new-messages")).toHaveCount(0);
  // Scrolled up again: a reaction to a message is not news, and no marker comes.
  await ann.getByTestId("message-list").evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  const news = bob.getByTestId("message").filter({ hasText: "second news" });
  await news.hover();
  await news.getByTestId("react-button").click();
  await news.getByTestId("pick-reaction").first().click();
  await expect(ann.getByTestId("message").filter({ hasText: "second news" }).getByTestId("reaction")).toHaveCount(1);
  await ann.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await expect(ann.getByTestId("new-messages")).toHaveCount(0);
  // Sending while scrolled up shows my own message.
  await say(ann, "my answer");
  await expect(ann.getByTestId("message-list").getByText("my answer")).toBeInViewport();
  await expect(ann.getByTestId("new-messages")).toHaveCount(0);
});

test("a visitor without a name sees the room live, is not listed, and joins in by choosing one", async ({ browser }) => {
  const room = uniqueRoom("visit");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`/r/${room}`);
  await expect(visitor.getByTestId("name-form")).toBeVisible();
  await expect(visitor.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const live = unique("as it happens");
  await say(ann, live);
  await expect(visitor.getByTestId("message-list").getByText(live)).toBeVisible();
  await expect(ann.getByTestId("online-count")).toHaveText("1");
  await visitor.getByTestId("name-input").fill("Vi");
  await visitor.getByTestId("name-button").click();
  await expect(ann.getByTestId("online-count")).toHaveText("2");
  const hello = unique("hello from Vi");
  await say(visitor, hello);
  await expect(ann.getByTestId("message").filter({ hasText: hello }).getByTestId("message-author")).toHaveText("Vi");
});

test("a room one opened stays on one's list, in every tab and after a reload, until one leaves it", async ({ browser }) => {
  const room = uniqueRoom("kept");
  const bob = await person(browser, "Bob", `/r/${room}`);
  const other = await bob.context().newPage();
  await openChat(other, "/", "Bob");
  const row = (page: Page) => page.locator(`[data-testid="room-entry"][data-room="${room}"]`);
  // Nobody is there, nothing was said there: still his, in his other tab too.
  await expect(row(other)).toHaveCount(1);
  await bob.goto("/");
  await expect(row(bob)).toHaveCount(1);
  // Rendered by the server: there before the page's script runs.
  const html = await (await bob.request.get("/")).text();
  expect(html).toContain(`data-room="${room}"`);

  // Left for good: off the list in both tabs and after a reload, back in the lobby.
  await row(bob).getByRole("link").click();
  await expect(bob.getByTestId("room-name")).toHaveText(`#${room}`);
  await bob.getByTestId("leave-room").click();
  await expect(bob.getByTestId("room-name")).toHaveText("#lobby");
  for (const page of [bob, other]) await expect(row(page)).toHaveCount(0);
  await bob.reload();
  await expect(bob.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect(row(bob)).toHaveCount(0);
  // The lobby is everyone's and cannot be left.
  await expect(bob.getByTestId("leave-room")).toHaveCount(0);
});

test("Browse rooms lists the rooms with their members and last message, and joins one in a click", async ({ browser }) => {
  const room = uniqueRoom("browse");
  const ann = await person(browser, "Ann", `/r/${room}`);
  await say(ann, "welcome to the room");
  await expect(ann.getByTestId("message").filter({ hasText: "welcome to the room" })).toHaveAttribute("data-state", "sent");
  const bob = await person(browser, "Bob", "/");
  await expect(bob.locator(`[data-testid="room-entry"][data-room="${room}"]`)).toHaveCount(0);
  await bob.getByTestId("browse-rooms").click();
  await expect(bob).toHaveURL(/\/rooms$/);
  await expect(bob.getByRole("heading", { level: 1 })).toHaveText("Browse rooms");
  // A page of the directory at a time: the room may be on a later one.
  let listed = bob.locator(`[data-testid="directory-room"][data-room="${room}"]`);
  while ((await listed.count()) === 0) {
    await bob.getByTestId("more-rooms").click();
    listed = bob.locator(`[data-testid="directory-room"][data-room="${room}"]`);
  }
  await expect(listed).toContainText(`#${room} 1 member · last message Today`);
  await expect(listed.getByTestId("on-my-list")).toHaveCount(0);
  await listed.getByRole("link").click();
  await expect(bob.getByTestId("room-name")).toHaveText(`#${room}`);
  await expect(bob.getByTestId("message-list").getByText("welcome to the room")).toBeVisible();
  await expect(bob.locator(`[data-testid="room-entry"][data-room="${room}"]`)).toHaveCount(1);
  await expect(bob.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  // Now his too: the directory says so, and counts him.
  await expect(async () => {
    await bob.goto(`/rooms?after=${room.slice(0, -1)}`);
    const row = bob.locator(`[data-testid="directory-room"][data-room="${room}"]`);
    await expect(row).toContainText("2 members", { timeout: 500 });
    await expect(row.getByTestId("on-my-list")).toHaveText("on your list", { timeout: 500 });
  }).toPass();
});

test("on a phone the room's name wins the header; who is online and the connection fold away", async ({ browser }) => {
  // A name of a common length (the usual unique names are longer than a phone's header).
  const room = `plan-${Math.random().toString(36).slice(2, 8)}`;
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const ann = await context.newPage();
  await openChat(ann, `/r/${room}`, "Annabel");
  await person(browser, "Bartholomew", `/r/${room}`);
  await expect(ann.getByTestId("online-count")).toHaveText("2");
  const name = ann.getByTestId("room-name");
  const box = async (id: string) => (await ann.getByTestId(id).boundingBox())!;
  const [title, online, status, menu] = [await box("room-name"), await box("presence"), await box("connection-status"), await box("menu-button")];
  // The whole name, on one line, beside the Rooms button and the connection's dot.
  expect(await name.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  const line = await name.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || el.getBoundingClientRect().height);
  expect(title.height).toBeLessThanOrEqual(line * 1.5);
  expect(title.x).toBeGreaterThanOrEqual(menu.x + menu.width);
  expect(status.x).toBeGreaterThanOrEqual(title.x + title.width - 0.5);
  expect(status.width).toBeLessThan(24);
  // Who is online: a line of its own, under the name, in full.
  expect(online.y).toBeGreaterThanOrEqual(title.y + title.height - 0.5);
  await expect(ann.getByTestId("presence")).toHaveText("2 online: Annabel, Bartholomew");
  // The connection's state is still said to screen readers.
  await expect(ann.getByTestId("connection-status")).toHaveText("Connected");
  await context.close();
});
