import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { messageTexts, openChat, person, say, unique, uniqueRoom, watch, watchedPerson } from "./helpers";
import { Frame, Speaker } from "./speaker";
import { freshDataDir, startServer, stopServer } from "../server";

// A server of this test's own, with the default limits.
const port = Number(process.env.PALAVER_E2E_LIMITS_PORT ?? 3219);

test("messages typed faster than the rate limit are refused, then all arrive, once each, in order", async ({
  page,
  browser,
}) => {
  const server = await startServer(port, freshDataDir());
  try {
    const traffic = watch(page);
    const url = `http://127.0.0.1:${port}/r/fast`;
    await openChat(page, url, "Quick");
    const other = await (await browser.newContext()).newPage();
    await openChat(other, url, "Reader");
    const texts = Array.from({ length: 16 }, (_, i) => `burst ${i + 1}`);
    // Typed and sent all at once (Playwright typing them one by one is slow enough for
    // the limit to refill): each goes through the box and its form, as when typed.
    await page.getByTestId("composer-input").evaluate((input: HTMLInputElement, texts) => {
      for (const text of texts) {
        input.value = text;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.form!.requestSubmit();
      }
    }, texts);
    // Beyond the burst of 10 the server says "slow down"; the page waits and resends.
    for (const t of texts) {
      const row = page.getByTestId("message").filter({ has: page.getByText(t, { exact: true }) });
      await expect(row).toHaveAttribute("data-state", "sent", { timeout: 10_000 });
    }
    await expect.poll(() => other.getByTestId("message-text").allTextContents(), { timeout: 10_000 }).toEqual(texts);
    await expect.poll(() => messageTexts(page).allTextContents()).toEqual(texts);
    await expect(page.getByTestId("retry")).toHaveCount(0);

    // The limiter did refuse some, each with the wait it asks for...
    const refused = traffic.received.map((r) => r.frame).filter((f) => f.reason === "rate_limited");
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r).toMatchObject({ type: "error", room: "fast", retry_after_ms: expect.any(Number) });
    }
    // ...and the page sent each refused message once more, and nothing else twice.
    const sends = traffic.sent.filter((s) => s.frame.type === "send").map((s) => s.frame.id);
    const sentAgain = sends.filter((id, i) => sends.indexOf(id) !== i);
    expect(sentAgain.sort()).toEqual(refused.map((r) => r.id).sort());
    expect(sends.length).toBe(texts.length + refused.length);
  } finally {
    await stopServer(server);
  }
});

test("a name of up to 32 characters is taken; a longer one is refused on the form, with the reason", async ({
  page,
  browser,
}) => {
  const room = uniqueRoom("names");
  const name32 = "Thirty-Two Characters Long Name!";
  expect(name32).toHaveLength(32);
  await page.goto(`/r/${room}`);
  const input = page.getByTestId("name-input");
  const error = page.getByTestId("name-error");

  await input.fill(`${name32}?`);
  await page.getByTestId("name-button").click();
  await expect(error).toHaveText("A name has at most 32 characters");
  await expect(page.getByTestId("name-form")).toBeVisible();
  await expect(page.getByTestId("composer-input")).toHaveCount(0);

  // Spaces around it do not count.
  await input.fill(`  ${name32}  `);
  await page.getByTestId("name-button").click();
  await expect(page.getByTestId("my-name")).toHaveText(name32);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const other = await person(browser, "Ola", `/r/${room}`);
  await expect(other.getByTestId("online-names")).toHaveText(`Ola, ${name32}`);

  // A rename is held to the same limit: refused on the form, and not sent.
  await other.getByTestId("rename-button").click();
  await other.getByTestId("name-input").fill("O".repeat(33));
  await other.getByTestId("name-button").click();
  await expect(other.getByTestId("name-error")).toHaveText("A name has at most 32 characters");
  await other.getByTestId("name-input").fill("Olaf");
  await other.getByTestId("name-button").click();
  await expect(page.getByTestId("online-names")).toHaveText(`Olaf, ${name32}`);
  await expect(page.getByTestId("rename-notice")).toHaveText(["Ola is now known as Olaf"]);
});

test("someone typing on and on shows as typing all along, and not for long after", async ({ browser }) => {
  const room = uniqueRoom("typing");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  const typing = ann.getByTestId("typing");
  const input = bob.getByTestId("composer-input");
  await input.press("a");
  await expect(typing).toHaveText("Bob is typing…");
  // Longer than one "typing" note is shown (4 s): the page keeps telling the room.
  const started = Date.now();
  while (Date.now() - started < 7_000) {
    await input.press("b", { delay: 150 });
    expect(await typing.textContent()).toBe("Bob is typing…");
  }
  const stopped = Date.now();
  await expect(typing).toHaveText("", { timeout: 8_000 });
  // Gone within the 4 s of the last note, which went out at most 2 s before the end.
  expect(Date.now() - stopped).toBeLessThan(6_000);
});

test("typing notes sent nonstop reach the others only a few times a second", async ({ browser, baseURL }) => {
  const room = uniqueRoom("typist");
  const { page: ann, traffic } = await watchedPerson(browser, "Ann", `/r/${room}`);
  const notes = () => traffic.received.filter((r) => r.frame.type === "typing" && r.frame.user.name === "Tap").length;
  const tap = await Speaker.connect(baseURL!, "Tap");
  try {
    await tap.join(room);
    const started = Date.now();
    for (let i = 0; i < 100; i++) tap.send({ type: "typing", room });
    await expect(ann.getByTestId("typing")).toHaveText("Tap is typing…");
    // A message after the notes: once Ann has it, every note let through has arrived.
    const said = unique("done typing");
    await tap.post(room, [said]);
    await expect(ann.getByTestId("message-list").getByText(said)).toBeVisible();
    const seconds = (Date.now() - started) / 1000;
    // At most a burst of 4, then 2 a second (TYPING_RATE); the rest were dropped.
    expect(notes()).toBeGreaterThanOrEqual(1);
    expect(notes()).toBeLessThanOrEqual(4 + Math.ceil(2 * seconds));
    // The message ends the typing line.
    await expect(ann.getByTestId("typing")).toHaveText("");
  } finally {
    tap.close();
  }
});

test("renames sent nonstop are refused once the burst is used up, and only those taken are announced", async ({
  browser,
  baseURL,
}) => {
  const room = uniqueRoom("renames");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const nym = await Speaker.connect(baseURL!, "Nym");
  try {
    await nym.join(room);
    await expect(ann.getByTestId("online-names")).toHaveText("Ann, Nym");
    const from = nym.frames.length;
    const started = Date.now();
    for (let i = 1; i <= 30; i++) nym.send({ type: "hello", token: nym.token, name: `Nym ${i}` });
    let answers: Frame[] = [];
    await nym.next(() => {
      answers = nym.frames.slice(from).filter((f) => f.type === "welcome" || f.type === "error");
      return answers.length === 30;
    }, from);
    const seconds = (Date.now() - started) / 1000;
    const accepted = answers.filter((f) => f.type === "welcome");
    const refused = answers.filter((f) => f.type === "error");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((f) => f.reason === "rate_limited")).toBe(true);
    // A burst of 20 joins, leaves and renames (MOVES_RATE), the join among them, and 2 a
    // second after it.
    expect(accepted.length).toBeGreaterThanOrEqual(19);
    expect(accepted.length).toBeLessThanOrEqual(19 + Math.ceil(2 * seconds));

    // A message after the renames: once Ann has it, every announcement has arrived.
    const said = unique("that is enough names");
    await nym.post(room, [said]);
    await expect(ann.getByTestId("message-list").getByText(said)).toBeVisible();
    const newest = accepted[accepted.length - 1].user.name;
    await expect(ann.getByTestId("rename-notice")).toHaveCount(accepted.length);
    await expect(ann.getByTestId("rename-notice").last()).toHaveText(`${accepted.at(-2)!.user.name} is now known as ${newest}`);
    await expect(ann.getByTestId("online-names")).toHaveText(`Ann, ${newest}`);
  } finally {
    nym.close();
  }
});

// The server refuses a rename made just after switching rooms quickly (joins, leaves and
// renames share one rate limit). The page says it again once the server will take it,
// and holds messages back until then, so none goes out under the old name.
test("a rename refused for coming too fast is said again, and messages wait for it", async ({ browser }) => {
  const go = async (page: Page, room: string) => {
    await page.getByTestId("join-room-input").fill(room);
    await page.getByTestId("join-room-button").click();
    await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);
  };
  const last = uniqueRoom("last");
  const ann = await person(browser, "Ann", `/r/${last}`);
  const { page: bob, traffic } = await watchedPerson(browser, "Bob", "/");
  await go(bob, last);
  // Rename until the server refuses one: the burst that joins and renames share is used
  // up however fast this machine is (a fixed number may take long enough to refill it).
  const renameRefused = () =>
    traffic.received.some((r) => r.frame.type === "error" && r.frame.reason === "rate_limited" && r.frame.detail.includes("renames"));
  for (let i = 0; i < 80 && !renameRefused(); i++) {
    await bob.getByTestId("rename-button").click();
    await bob.getByTestId("name-input").fill(`Robert ${i}`);
    await bob.getByTestId("name-button").click();
  }
  expect(renameRefused()).toBe(true);
  const hello = unique("who am i");
  await say(bob, hello);
  await expect(ann.getByTestId("message-list").getByText(hello)).toBeVisible({ timeout: 15_000 });
  // The rename was refused...
  expect(traffic.received.map((r) => r.frame.detail)).toContain("slow down: at most 2 renames a second");
  // ...so the name the page shows is not the one its messages carry.
  const shownAs = await bob.getByTestId("my-name").textContent();
  const authorFor = (page: Page) => page.getByTestId("message").filter({ hasText: hello }).getByTestId("message-author");
  await expect(authorFor(bob)).toHaveText(shownAs!);
  await expect(authorFor(ann)).toHaveText(shownAs!);
});
