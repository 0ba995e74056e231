import { test, expect } from "./fixtures";
import { openChat, unique, uniqueRoom, watch } from "./helpers";
import { Speaker } from "./speaker";

// The session cookie: set once a name is chosen, out of scripts' reach; the server
// renders the page for its person (name, unread counts, the "New" line); signing out
// clears it, in every tab.

test("choosing a name keeps a session the server renders pages for; signing out ends it everywhere", async ({
  browser,
  baseURL,
}) => {
  const [design, home] = [uniqueRoom("design"), uniqueRoom("home")];
  const context = await browser.newContext();
  const ann = await context.newPage();
  const bob = await Speaker.connect(baseURL!, "Bob");
  await bob.join(design);
  await bob.post(design, ["already here"]);
  const traffic = watch(ann);
  await openChat(ann, `/r/${design}`, "Ann");
  await expect(ann.getByTestId("message-text").filter({ hasText: "already here" })).toBeVisible();
  await expect.poll(() => traffic.sent.some(({ frame }) => frame.type === "read" && frame.room === design)).toBe(true);

  // The cookie: HttpOnly (no script sees it), SameSite=Lax, not Secure over plain HTTP.
  await expect.poll(async () => (await context.cookies()).some((c) => c.name === "palaver_session")).toBe(true);
  const cookie = (await context.cookies()).find((c) => c.name === "palaver_session")!;
  expect([cookie.httpOnly, cookie.sameSite, cookie.secure, cookie.path]).toEqual([true, "Lax", false, "/"]);
  expect(await ann.evaluate(() => document.cookie)).not.toContain("palaver_session");

  // Away in #home while Bob writes on in #design.
  await ann.goto(`/r/${home}`);
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const news = [unique("new one"), unique("new two")];
  await bob.post(design, news);
  await expect(ann.locator(`[data-testid="room-entry"][data-room="${design}"]`)).toHaveAttribute("data-unread", "2");

  // The HTML the server sends her (before any script runs): her name, the counts, the
  // title, and in #design the New line above the first she has not read.
  const html = await (await ann.request.get(`/r/${home}`)).text();
  expect(html).toContain(`data-testid="my-name">Ann<`);
  expect(html).not.toContain(`data-testid="name-form"`);
  expect(html).toContain(`<title>(2) #${home} · Palaver</title>`);
  expect(html).toMatch(new RegExp(`data-room="${design}" data-unread="2"`));
  const room = await (await ann.request.get(`/r/${design}`)).text();
  expect(room).toMatch(new RegExp(`data-new="New"[^>]*>(?:(?!</li>).)*${news[0]}`, "s"));
  expect(room.match(/data-new=/g)).toHaveLength(1);

  // A second tab of hers; she signs out in the first: it is a visitor's page again,
  // the cookie is gone, and the other tab follows once it is looked at.
  const other = await context.newPage();
  await openChat(other, `/r/${home}`, "Ann");
  await ann.getByTestId("sign-out").click();
  await expect(ann).toHaveURL(/\/$/);
  await expect(ann.getByTestId("name-form")).toBeVisible();
  expect((await context.cookies()).some((c) => c.name === "palaver_session")).toBe(false);
  await other.evaluate(() => document.dispatchEvent(new Event("visibilitychange", { bubbles: true })));
  await expect(other.getByTestId("name-form")).toBeVisible();
  await expect(other.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const after = await (await other.request.get(`/r/${home}`)).text();
  expect(after).not.toContain(`data-testid="my-name">Ann<`);
  bob.close();
  await context.close();
});

test("a session is started only from the site's own pages, with a token the server signed", async ({ request, baseURL }) => {
  const fromHere = { Origin: baseURL!, "Content-Type": "text/plain" };
  const forged = await request.post("/session", { headers: fromHere, data: "a.b.c" });
  expect(forged.status()).toBe(400);
  expect(await forged.text()).toContain("not a token this server signed");
  const bob = await Speaker.connect(baseURL!, "Bob");
  const token = bob.token;
  bob.close();
  const elsewhere = await request.post("/session", { headers: { ...fromHere, Origin: "http://evil.example" }, data: token });
  expect(elsewhere.status()).toBe(403);
  const ok = await request.post("/session", { headers: fromHere, data: token });
  expect(ok.status()).toBe(204);
  expect(ok.headers()["set-cookie"]).toMatch(/^palaver_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
});
