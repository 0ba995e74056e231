import { test, expect } from "./fixtures";
import { openChat, person, say, unique, uniqueRoom } from "./helpers";
import { postAs, Speaker } from "./speaker";

// Replies (a quote that jumps to the original, loading it when it is far back),
// reactions (a picker, chips with counts and who), and @mentions (suggested from the
// people in the room, marked for the person named).

test("a reply quotes its original, and the quote jumps to an original far back, loading it", async ({ browser, baseURL }) => {
  const room = uniqueRoom("replies");
  const speaker = await Speaker.connect(baseURL!, "Olga");
  await speaker.join(room);
  const origin = unique("where it began");
  const [first] = await speaker.post(room, [origin]);
  await speaker.post(room, Array.from({ length: 120 }, (_, i) => `filler ${i}`));

  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  // Bob answers the newest message with its Reply button; Esc would cancel.
  const newest = bob.getByTestId("message").filter({ hasText: "filler 119" });
  await newest.hover();
  await newest.getByTestId("reply-button").click();
  const input = bob.getByTestId("composer-input");
  await expect(input).toBeFocused();
  await expect(bob.getByTestId("replying-hint")).toContainText("Replying to Olga: filler 119");
  await input.press("Escape");
  await expect(bob.getByTestId("replying-hint")).toHaveCount(0);
  await newest.hover();
  await newest.getByTestId("reply-button").click();
  const answer = unique("yes, that one");
  await say(bob, answer);
  await expect(bob.getByTestId("replying-hint")).toHaveCount(0);
  for (const page of [ann, bob]) {
    const reply = page.getByTestId("message").filter({ hasText: answer });
    await expect(reply.getByTestId("reply-quote")).toHaveText("Olga filler 119");
  }

  // A reply to the first message, 120 back: not on Ann's page until she follows the quote.
  const late = unique("about the start");
  speaker.send({ type: "send", room, id: "late-reply", text: late, reply_to: first });
  await speaker.next((f) => f.type === "ack" && f.id === "late-reply");
  const reply = ann.getByTestId("message").filter({ hasText: late });
  await expect(reply.getByTestId("reply-quote")).toHaveText(`Olga ${origin}`);
  const original = ann.locator(`[data-testid="message"][data-seq="${first}"]`);
  await expect(original).toHaveCount(0);
  await reply.getByTestId("reply-quote").click();
  await expect(original).toBeInViewport();
  await expect(original).toHaveClass(/highlighted/);
  await expect(original.getByTestId("message-text")).toHaveText(origin);
  // Between the page around it and the newest ones, a gap to fill; filled, it is gone.
  const between = ann.getByTestId("load-between");
  await expect(between).toHaveCount(1);
  // Each click loads a page; a button may be gone by the time it would be clicked.
  await expect(async () => {
    if ((await between.count()) > 0) {
      await between.first().click({ timeout: 2_000 });
    }
    await expect(between).toHaveCount(0, { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await expect(ann.getByTestId("message-text").filter({ hasText: /^filler 60$/ })).toHaveCount(1);

  // The original deleted: every quote of it says so.
  speaker.send({ type: "delete", room, id: "del-origin", target: first });
  await speaker.next((f) => f.type === "ack" && f.id === "del-origin");
  await expect(reply.getByTestId("reply-quote")).toHaveText("Olga deleted");
  await ann.reload();
  await expect(ann.getByTestId("message").filter({ hasText: late }).getByTestId("reply-quote")).toHaveText("Olga deleted");
  speaker.close();
});

test("reactions: pick, count, see who, take back; one person's tabs count once", async ({ browser }) => {
  const room = uniqueRoom("reactions");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  const text = unique("lunch at noon?");
  await say(ann, text);
  const on = (page: typeof ann) => page.getByTestId("message").filter({ hasText: text });
  await expect(on(ann)).toHaveAttribute("data-state", "sent");

  // Bob picks 👍 from the picker.
  await on(bob).hover();
  await on(bob).getByTestId("react-button").click();
  const picker = on(bob).getByTestId("reaction-picker");
  await expect(picker).toBeVisible();
  await picker.getByRole("button", { name: "👍" }).click();
  await expect(picker).toHaveCount(0);
  for (const page of [ann, bob]) {
    await expect(on(page).getByTestId("reaction")).toHaveText(["👍 1"]);
  }
  await expect(on(bob).getByTestId("reaction")).toHaveAttribute("aria-pressed", "true");
  await expect(on(ann).getByTestId("reaction")).toHaveAttribute("aria-pressed", "false");
  // Ann adds hers by the chip; who reacted shows on focus (and in its label).
  await on(ann).getByTestId("reaction").click();
  for (const page of [ann, bob]) {
    await expect(on(page).getByTestId("reaction")).toHaveText(["👍 2"]);
    await expect(on(page).getByTestId("reaction")).toHaveAttribute("data-who", "Bob, Ann");
  }
  await on(ann).getByTestId("reaction").focus();
  const tip = await on(ann).getByTestId("reaction").evaluate((el) => getComputedStyle(el, "::after").content);
  expect(tip).toContain("Bob, Ann");

  // A second tab of Ann's is the same person: her reaction is pressed there too, and a
  // 🎉 from it counts once however many of her tabs show it.
  const annTab = await ann.context().newPage();
  await openChat(annTab, `/r/${room}`, "Ann");
  await expect(on(annTab).getByTestId("reaction")).toHaveAttribute("aria-pressed", "true");
  await on(annTab).hover();
  await on(annTab).getByTestId("react-button").click();
  await on(annTab).getByTestId("reaction-picker").getByRole("button", { name: "🎉" }).click();
  for (const page of [ann, annTab, bob]) {
    await expect(on(page).getByTestId("reaction")).toHaveText(["👍 2", "🎉 1"]);
  }
  // Taking them back, from either tab.
  await on(ann).getByTestId("reaction").filter({ hasText: "🎉" }).click();
  await on(bob).getByTestId("reaction").filter({ hasText: "👍" }).click();
  for (const page of [ann, annTab, bob]) {
    await expect(on(page).getByTestId("reaction")).toHaveText(["👍 1"]);
  }
  await bob.reload();
  await expect(on(bob).getByTestId("reaction")).toHaveText(["👍 1"]);
  await expect(on(bob).getByTestId("reaction")).toHaveAttribute("data-who", "Ann");
});

test("@mentions: suggested from the room by keyboard, marked, and marked for me", async ({ browser, baseURL }) => {
  const room = uniqueRoom("mentions");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bobby Tables", `/r/${room}`);
  await person(browser, "Bea", `/r/${room}`);
  await expect(ann.getByTestId("online-count")).toHaveText("3");
  // Someone who wrote here and left is offered too, after who is here.
  await postAs(baseURL!, "Bertha", room, ["back later"]);
  await expect(ann.getByTestId("message-text").filter({ hasText: "back later" })).toBeVisible();
  await expect(ann.getByTestId("online-count")).toHaveText("3");

  const input = ann.getByTestId("composer-input");
  await input.pressSequentially("hi @b");
  const options = ann.getByTestId("mention-option");
  await expect(options).toHaveText(["Bea", "Bobby Tables", "Bertha"]);
  await expect(options.first()).toHaveAttribute("aria-selected", "true");
  await input.press("ArrowDown");
  await expect(options.nth(1)).toHaveAttribute("aria-selected", "true");
  await input.press("Enter");
  await expect(input).toHaveValue("hi @Bobby Tables ");
  await expect(ann.getByTestId("mention-suggestions")).toHaveCount(0);
  await input.pressSequentially("look at this");
  await input.press("Enter");
  const text = "hi @Bobby Tables look at this";
  for (const page of [ann, bob]) {
    const row = page.getByTestId("message").filter({ hasText: text });
    await expect(row.locator(".mention")).toHaveText("@Bobby Tables");
  }
  await expect(bob.getByTestId("message").filter({ hasText: text })).toHaveClass(/mentions-me/);
  await expect(ann.getByTestId("message").filter({ hasText: text })).not.toHaveClass(/mentions-me/);
  // Tab takes a suggestion too; Esc closes the list and leaves the text.
  await input.pressSequentially("@be");
  await input.press("Tab");
  await expect(input).toHaveValue("@Bea ");
  await input.fill("");
  await input.pressSequentially("@an");
  await expect(options).toHaveCount(0);
  await input.fill("@bo");
  await input.press("End");
  await input.pressSequentially("b");
  await expect(options).toHaveText(["Bobby Tables"]);
  await input.press("Escape");
  await expect(ann.getByTestId("mention-suggestions")).toHaveCount(0);
  await expect(input).toHaveValue("@bob");
});

test("@nojs the server-rendered page shows quotes, reactions and mentions", async ({ page, baseURL }) => {
  const room = uniqueRoom("replies-nojs");
  const speaker = await Speaker.connect(baseURL!, "Nia");
  await speaker.join(room);
  const [original] = await speaker.post(room, ["the original"]);
  speaker.send({ type: "send", room, id: "r1", text: "the answer @Nia", reply_to: original });
  speaker.send({ type: "react", room, id: "x1", target: original, emoji: "🚀" });
  await speaker.next((f) => f.type === "ack" && f.id === "x1");
  speaker.close();
  await page.goto(`/r/${room}`);
  const reply = page.getByTestId("message").filter({ hasText: "the answer" });
  await expect(reply.getByTestId("reply-quote")).toHaveText("Nia the original");
  await expect(reply.getByTestId("reply-quote")).toHaveAttribute("href", `#m-${original}`);
  await expect(reply.locator(".mention")).toHaveText("@Nia");
  const chip = page.getByTestId("message").filter({ hasText: "the original" }).getByTestId("reaction");
  await expect(chip).toHaveText("🚀 1");
  await expect(chip).toHaveAttribute("data-who", "Nia");
});
