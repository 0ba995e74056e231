import { Browser, BrowserContext, Page } from "@playwright/test";
import { ChildProcess, execFileSync } from "child_process";
import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { say, unique } from "./helpers";
import { freshDataDir, serverBinary, startServer, stopServer } from "../server";

// Who sees what, on a server of its own with an owner and members made by the CLI: a
// private room's member and a non-member side by side (list, search, unread, title,
// page, no-JS page), an admin removing a message and a person, a direct message, a
// report reaching the admin page, and the audit log; axe on every admin page.

const port = Number(process.env.PALAVER_E2E_MODERATION_PORT ?? 3223);
const base = `http://127.0.0.1:${port}`;
const PASSWORD = "correct horse battery";
const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

let server: ChildProcess;
let dataDir: string;

/** `server admin ARGS` on the test server's data directory: what it printed. */
function cli(args: string[], input = ""): string {
  return execFileSync(serverBinary, ["admin", ...args], {
    input,
    env: { ...process.env, PALAVER_DATA_DIR: dataDir },
  }).toString();
}

test.beforeAll(async () => {
  dataDir = freshDataDir();
  server = await startServer(port, dataDir, {});
  cli(["create-user", "--handle", "boss", "--display-name", "Boss", "--role", "owner", "--password-stdin"], PASSWORD);
  for (const [handle, name] of [["ann", "Ann"], ["bob", "Bob"]]) {
    cli(["create-user", "--handle", handle, "--display-name", name, "--password-stdin"], PASSWORD);
  }
});

test.afterAll(async () => {
  await stopServer(server);
});

/** A browser of its own, signed in as `handle`, on the live chat at `path`. */
async function signedIn(browser: Browser, handle: string, path = "/"): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`);
  await page.getByLabel(/^Handle$/).fill(handle);
  await page.getByLabel(/^Password$/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.locator("html")).toHaveAttribute("data-member", handle);
  if (path !== "/") await page.goto(base + path);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  return page;
}

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ hasText: text });
}

test("a private room's member and a non-member side by side: the non-member sees nothing of it", async ({ browser }) => {
  const room = unique("plans").toLowerCase().replace(/[^a-z0-9-]/g, "-");
  cli(["create-room", "--name", room, "--kind", "private", "--members", "ann"]);
  const ann = await signedIn(browser, "ann", `/r/${room}`);
  const bob = await signedIn(browser, "bob");
  const secret = unique("secret plans");
  await say(ann, secret);
  await expect(message(ann, secret)).toHaveAttribute("data-state", "sent");
  // Not in bob's list, title or search; his page of it is Page not found, with or
  // without JavaScript.
  await expect(bob.getByTestId("room-list")).not.toContainText(room);
  await expect(bob).not.toHaveTitle(/\(\d+\)/);
  await bob.goto(`${base}/search?q=${encodeURIComponent(secret)}`);
  await expect(bob.getByTestId("search-status")).toBeVisible();
  await expect(bob.getByTestId("search-result")).toHaveCount(0);
  const page = await bob.goto(`${base}/r/${room}`);
  expect(page?.status()).toBe(404);
  await expect(bob.getByRole("heading", { name: "Page not found" })).toBeVisible();
  const cookies = await bob.context().cookies();
  const session = cookies.find((c) => c.name === "palaver_session")!.value;
  const noJs = await fetch(`${base}/r/${room}`, { headers: { cookie: `palaver_session=${session}` } });
  expect(noJs.status).toBe(404);
  expect(await noJs.text()).not.toContain(secret);
  // Ann sees it in her list, in search, and in the page without JavaScript.
  await expect(ann.getByTestId("room-list")).toContainText(room);
  await ann.goto(`${base}/search?q=${encodeURIComponent(secret)}`);
  await expect(ann.getByTestId("search-result-text").filter({ hasText: secret })).toBeVisible();
});

test("an admin removes a message and a person; a direct message; a report reaches the admin page; the audit log shows it all", async ({ browser }) => {
  test.setTimeout(90_000);
  const room = unique("team").toLowerCase().replace(/[^a-z0-9-]/g, "-");
  cli(["create-room", "--name", room, "--kind", "private", "--members", "ann,bob,boss"]);
  const boss = await signedIn(browser, "boss", `/r/${room}`);
  const ann = await signedIn(browser, "ann", `/r/${room}`);
  const bob = await signedIn(browser, "bob", `/r/${room}`);

  // Bob reports Ann's message from its menu; it reaches the admin page.
  const rude = unique("rude words");
  await say(ann, rude);
  const theirs = message(bob, rude);
  await theirs.hover();
  await theirs.getByTestId("more-actions").click();
  await expect(theirs.getByTestId("edit-button")).toBeHidden();
  await theirs.getByTestId("report-link").click();
  await expect(bob.getByTestId("reported-message")).toContainText(rude);
  await bob.getByLabel("Why (optional)").fill("not kind");
  await bob.getByRole("button", { name: "Report it" }).click();
  await expect(bob.getByRole("status")).toContainText("Reported");
  await bob.goto(`${base}/r/${room}`);
  await expect(bob.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const admin = await boss.context().newPage();
  await admin.goto(`${base}/admin/reports`);
  const report = admin.getByTestId("reports").getByRole("listitem").filter({ hasText: rude });
  await expect(report).toContainText("@bob");
  await expect(report).toContainText("not kind");

  // The admin removes it from the chat's own menu: gone for everyone, said so.
  const seen = message(boss, rude);
  await seen.hover();
  await seen.getByTestId("more-actions").click();
  await seen.getByTestId("delete-button").click();
  await seen.getByTestId("delete-button").click();
  await expect(message(ann, rude)).toHaveCount(0);
  await expect(ann.getByTestId("message-deleted").filter({ hasText: "removed by an admin" })).toBeVisible();

  // The admin names the room and gives it a topic: everyone in it sees them at once,
  // in the header, the room list and the tab's title; its address stays.
  await admin.goto(`${base}/admin/rooms`);
  const row = admin.locator(`tr[data-room="${room}"]`);
  await row.getByLabel(`Name shown #${room}`).fill("Team room");
  await row.getByLabel(`Topic #${room}`).fill("Where the team talks");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByRole("status")).toContainText("Done");
  for (const page of [ann, bob]) {
    await expect(page.getByTestId("room-name")).toHaveText("Team room");
    await expect(page.getByTestId("room-topic")).toHaveText("Where the team talks");
    await expect(page.getByTestId("room-list").locator(`a[href="/r/${room}"]`)).toHaveText("Team room");
    await expect(page).toHaveTitle(/Team room · Palaver/);
  }

  // The admin removes Ann from the room: it leaves her page at once (she is taken to
  // the lobby), and stays shut.
  await row.getByLabel(`Remove someone #${room}: handle`).fill("ann");
  await row.getByRole("button", { name: "Remove someone" }).click();
  await expect(admin.getByRole("status")).toContainText("Done");
  await expect(ann).toHaveURL(`${base}/`);
  await expect(ann.getByTestId("room-name")).toHaveText("#lobby");
  await expect(ann.getByText("Team room")).toHaveCount(0);
  const after = unique("after ann left");
  await say(bob, after);
  await expect(message(boss, after)).toBeVisible();
  await expect(ann.getByText(after)).toHaveCount(0);
  // Off her list.
  await expect(ann.getByTestId("room-list")).not.toContainText(room);
  expect((await ann.goto(`${base}/r/${room}`))?.status()).toBe(404);

  // A direct message: the same two people, the same conversation.
  await ann.goto(`${base}/direct`);
  await ann.getByLabel("Handles, separated by commas").fill("bob");
  await ann.getByRole("button", { name: "Open the conversation" }).click();
  await expect(ann).toHaveURL(/\/r\/dm-[0-9a-f]+$/);
  const direct = new URL(ann.url()).pathname;
  await expect(ann.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  // Called by the other person in it, for each of them; its name is nobody's business.
  await expect(ann.getByTestId("room-name")).toHaveText("Bob");
  const hello = unique("just between us");
  await say(ann, hello);
  await expect(bob.getByTestId("room-list").locator(`a[href="${direct}"]`)).toHaveText("Ann");
  await bob.goto(base + direct);
  await expect(message(bob, hello)).toBeVisible();
  await expect(bob.getByTestId("room-name")).toHaveText("Ann");
  await expect(bob).toHaveTitle(/^Ann · Palaver/);
  await expect(bob.getByTestId("room-list")).not.toContainText("dm-");
  expect((await boss.goto(base + direct))?.status()).toBe(404);

  // The audit log shows what happened, by kind and by person.
  await admin.goto(`${base}/admin/audit`);
  const log = admin.getByTestId("audit");
  for (const kind of ["reported", "message_removed", "member_removed", "room_made", "sign_in"]) {
    await expect(log.locator(`tr[data-kind="${kind}"]`).first()).toBeVisible();
  }
  await admin.getByLabel("Person (handle)").fill("ann");
  await admin.getByRole("button", { name: "Show" }).click();
  await expect(log.locator('tr[data-kind="member_removed"]')).toContainText("@ann");
});

test("the admin pages are axe clean in both themes and both languages, and only for admins", async ({ browser }) => {
  test.setTimeout(90_000);
  for (const scheme of ["light", "dark"] as const) {
    for (const lang of ["en", "ko"]) {
      const context: BrowserContext = await browser.newContext({ colorScheme: scheme });
      await context.addCookies([{ name: "lang", value: lang, url: base }]);
      const page = await context.newPage();
      await page.goto(`${base}/sign-in`);
      await page.getByLabel(/^(Handle|핸들)$/).fill("boss");
      await page.getByLabel(/^(Password|비밀번호)$/).fill(PASSWORD);
      await page.getByRole("button", { name: /^(Sign in|로그인)$/ }).click();
      await expect(page.locator("html")).toHaveAttribute("data-member", "boss");
      for (const path of ["/admin", "/admin/invites", "/admin/rooms", "/admin/reports", "/admin/audit", "/direct", "/people"]) {
        await page.goto(base + path);
        const results = await new AxeBuilder({ page }).withTags(RULES).analyze();
        const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        expect.soft(found, `${path}, ${scheme}, ${lang}`).toEqual([]);
      }
      await context.close();
    }
  }
  // A member is told the page is not theirs.
  const ann = await signedIn(browser, "ann");
  expect((await ann.goto(`${base}/admin`))?.status()).toBe(403);
});
