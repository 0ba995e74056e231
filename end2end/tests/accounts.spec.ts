import { Browser, BrowserContext, Page } from "@playwright/test";
import { ChildProcess, execFileSync } from "child_process";
import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { say, unique } from "./helpers";
import { freshDataDir, serverBinary, startServer, stopServer } from "../server";

// Accounts on a server of their own, started with no owner: the first-run page from
// the link in the log, an invite link to a new member chatting, signing out everywhere
// else, the forms without JavaScript, and axe on every account page in both themes and
// both languages.

const port = Number(process.env.PALAVER_E2E_ACCOUNTS_PORT ?? 3222);
const base = `http://127.0.0.1:${port}`;
const PASSWORD = "correct horse battery";
const RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

let server: ChildProcess;
let dataDir: string;
let setupLink: Promise<string>;

test.beforeAll(async () => {
  let found: (link: string) => void;
  setupLink = new Promise((resolve) => (found = resolve));
  dataDir = freshDataDir();
  // Guests on: members and guests side by side.
  server = await startServer(port, dataDir, { RUST_LOG: "info", PALAVER_GUESTS: "on" }, (line) => {
    const at = line.indexOf("/setup?code=");
    if (at >= 0) found(base + line.slice(at).split(/\s/)[0]);
  });
});

test.afterAll(async () => {
  await stopServer(server);
});

async function scan(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).withTags(RULES).analyze();
  const found = results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect.soft(found, `axe violations: ${state}`).toEqual([]);
}

/** Every theme and language, each in a context of its own. */
async function everyLook(browser: Browser, visit: (context: BrowserContext, look: string) => Promise<void>) {
  for (const scheme of ["light", "dark"] as const) {
    for (const lang of ["en", "ko"]) {
      const context = await browser.newContext({ colorScheme: scheme });
      await context.addCookies([{ name: "lang", value: lang, url: base }]);
      await visit(context, `${scheme}, ${lang}`);
      await context.close();
    }
  }
}

async function fillAccount(page: Page, handle: string, name: string) {
  await page.getByLabel(/^(Handle|핸들)$/).fill(handle);
  await page.getByLabel(/^(Display name|표시 이름)$/).fill(name);
  await page.getByLabel(/^(Password|비밀번호)$/).fill(PASSWORD);
  await page.getByRole("button", { name: /Create account|계정 만들기/ }).click();
}

/** Waits until the page is the live chat of `name`'s account. */
async function inChatAs(page: Page, name: string) {
  await expect(page.locator("html")).toHaveAttribute("data-member", /.+/);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect(page.getByTestId("my-name")).toHaveText(name);
}

test("the owner is made from the link in the log, invites a member who signs up and chats; sign out everywhere else ends the other browser", async ({ browser }) => {
  test.setTimeout(120_000);
  const link = await setupLink;
  await everyLook(browser, async (context, look) => {
    const page = await context.newPage();
    await page.goto(link);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await scan(page, `the first-run page, ${look}`);
    await page.goto(`${base}/sign-in`);
    await scan(page, `the sign-in page, ${look}`);
    await page.getByLabel(/^(Handle|핸들)$/).fill("nobody");
    await page.getByLabel(/^(Password|비밀번호)$/).fill("not a password at all");
    await page.getByRole("button", { name: /^(Sign in|로그인)$/ }).click();
    await expect(page.getByRole("alert")).toHaveText(
      look.endsWith("ko") ? "핸들과 비밀번호가 일치하는 계정이 없습니다." : "That handle and password do not match an account.",
    );
    await scan(page, `the sign-in page with its error, ${look}`);
  });

  const owner = await (await browser.newContext()).newPage();
  await owner.goto(link);
  await expect(owner.getByRole("heading", { name: "Create the owner account" })).toBeVisible();
  await fillAccount(owner, "Boss", "The Boss");
  await inChatAs(owner, "The Boss");
  await expect(owner.locator("html")).toHaveAttribute("data-member", "boss");
  const hello = unique("welcome aboard");
  await say(owner, hello);
  // The link is spent.
  const again = await owner.context().request.get(link);
  expect(again.status()).toBe(404);

  // An invite link from Settings.
  await owner.getByRole("link", { name: "settings" }).click();
  await expect(owner.getByRole("heading", { name: "Settings" })).toBeVisible();
  await owner.getByRole("button", { name: "Make an invite link" }).click();
  const invite = (await owner.getByTestId("new-secret").textContent())!.trim();
  expect(invite).toContain(`${base}/sign-up?invite=`);
  await scan(owner, "the settings page with a new invite link");

  const member = await (await browser.newContext()).newPage();
  await member.goto(invite);
  await expect(member.getByRole("heading", { name: "Create your Palaver account" })).toBeVisible();
  await fillAccount(member, "cy", "Cy Young");
  await inChatAs(member, "Cy Young");
  await expect(member.getByTestId("message").filter({ hasText: hello })).toBeVisible();
  const answer = unique("thanks");
  await say(member, answer);
  await owner.goto(`${base}/`);
  await expect(owner.getByTestId("message").filter({ hasText: answer })).toBeVisible();
  // The member's name shows their handle on hover; a mention suggested names the handle.
  const cysMessage = owner.getByTestId("message").filter({ hasText: answer });
  await expect(cysMessage.getByTestId("message-author")).toHaveAttribute("title", "@cy");
  await expect(owner.getByTestId("online-names").locator("[title='@cy']")).toHaveText("Cy Young");
  await owner.getByTestId("composer-input").fill("thanks @c");
  await expect(owner.getByTestId("mention-option")).toHaveText("Cy Young @cy");
  await owner.keyboard.press("Enter");
  await expect(owner.getByTestId("composer-input")).toHaveValue("thanks @cy ");
  await owner.getByTestId("composer-input").fill("");
  // A guest beside them is marked as one on a member's page.
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(`${base}/`);
  await guest.getByTestId("name-input").fill("Visitor");
  await guest.getByTestId("name-button").click();
  await expect(guest.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const visiting = unique("just visiting");
  await say(guest, visiting);
  const theirs = owner.getByTestId("message").filter({ hasText: visiting }).getByTestId("message-author");
  await expect(theirs).toHaveText("Visitor");
  const mark = await theirs.evaluate((el) => getComputedStyle(el, "::after").content);
  expect(mark).toContain("guest");
  expect(await guest.getByTestId("message").filter({ hasText: visiting }).getByTestId("message-author").evaluate(
    (el) => getComputedStyle(el, "::after").content,
  )).toBe("none");
  // Used once: the link is spent, and the list says who joined with it.
  await owner.goto(`${base}/settings`);
  await expect(owner.getByTestId("invites")).toContainText("@cy");
  await everyLook(browser, async (context, look) => {
    const page = await context.newPage();
    await page.goto(invite);
    await expect(page.getByRole("alert")).toBeVisible();
    await scan(page, `the sign-up page of a spent invite, ${look}`);
  });

  // The owner in a second browser; the first signs out everywhere else.
  const elsewhere = await (await browser.newContext()).newPage();
  await elsewhere.goto(`${base}/sign-in`);
  await elsewhere.getByLabel("Handle").fill("boss");
  await elsewhere.getByLabel("Password").fill(PASSWORD);
  await elsewhere.getByRole("button", { name: "Sign in", exact: true }).click();
  await inChatAs(elsewhere, "The Boss");
  await owner.reload();
  await expect(owner.getByTestId("sessions").getByRole("listitem")).toHaveCount(2);
  await scan(owner, "the settings page with two sessions");
  await owner.getByRole("button", { name: "Sign out everywhere else" }).click();
  await expect(owner.getByTestId("sessions").getByRole("listitem")).toHaveCount(1);
  // The other browser's page starts again as a visitor's, by itself.
  await expect(elsewhere.locator("html")).not.toHaveAttribute("data-member", /.*/);
  await expect(elsewhere.getByTestId("name-form")).toBeVisible();
  await owner.goto(`${base}/`);
  await inChatAs(owner, "The Boss");

  // Settings in every theme and language.
  const cookies = await owner.context().cookies();
  await everyLook(browser, async (context, look) => {
    await context.addCookies(cookies.filter((c) => c.name === "palaver_session"));
    const page = await context.newPage();
    await page.goto(`${base}/settings`);
    await expect(page.getByTestId("sessions")).toBeVisible();
    await scan(page, `the settings page, ${look}`);
  });
});

test("signing up, out and in works without JavaScript @nojs", async ({ page }) => {
  // This project's own server has no owner yet: the first-run page makes it.
  await page.goto(await setupLink);
  await page.getByLabel("Handle").fill("ann");
  await page.getByLabel("Display name").fill("Ann Lee");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert")).toHaveText("That password is among the most common ones. Choose another.");
  await expect(page.getByLabel("Handle")).toHaveValue("ann");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(`${base}/`);
  await expect(page.locator("html")).toHaveAttribute("data-member", "ann");
  await expect(page.getByTestId("my-name")).toHaveText("Ann Lee");
  await page.getByTestId("sign-out").click();
  await expect(page.locator("html")).not.toHaveAttribute("data-member", /.*/);
  await page.goto(`${base}/sign-in`);
  await page.getByLabel("Handle").fill("ann");
  await page.getByLabel("Password").fill("wrong password, surely");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("That handle and password do not match an account.");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("my-name")).toHaveText("Ann Lee");
});

test("a passkey added in settings signs in with no handle or password (a virtual authenticator)", async ({ browser }) => {
  // Made with the CLI, on this server's store.
  execFileSync(serverBinary, ["admin", "create-user", "--handle", "kim", "--display-name", "Kim Passkey", "--password-stdin"], {
    input: PASSWORD,
    env: { ...process.env, PALAVER_DATA_DIR: dataDir },
  });
  // A passkey's relying party is a domain: the site as `localhost`.
  const site = `http://localhost:${port}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.goto(`${site}/sign-in`);
  await page.getByLabel("Handle").fill("kim");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await inChatAs(page, "Kim Passkey");
  await page.goto(`${site}/settings`);
  await expect(page.getByTestId("passkeys").getByRole("listitem")).toHaveCount(0);
  await page.getByLabel("Name of the new passkey").fill("this laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByTestId("passkeys").getByRole("listitem")).toHaveCount(1);
  await expect(page.getByTestId("passkeys")).toContainText("this laptop");
  await expect(page.getByTestId("passkeys")).toContainText("not used yet");
  await scan(page, "the settings page with a passkey");

  // Signed out; back with the passkey alone.
  await context.clearCookies();
  await page.goto(`${site}/sign-in`);
  await expect(page.locator("html")).not.toHaveAttribute("data-member", /.*/);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await inChatAs(page, "Kim Passkey");
  await page.goto(`${site}/settings`);
  await expect(page.getByTestId("passkeys")).toContainText("last seen");

  // A passkey removed signs in no more.
  await page.getByTestId("passkeys").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("passkeys").getByRole("listitem")).toHaveCount(0);
  await context.clearCookies();
  await page.goto(`${site}/sign-in`);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.locator("#passkey-status")).toHaveText(
    "That passkey could not be used here. Sign in with your password, or try another passkey.",
  );
  await expect(page.locator("html")).not.toHaveAttribute("data-member", /.*/);
});
