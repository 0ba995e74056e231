import { test, expect } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { openChat, say, unique, uniqueRoom, watch } from "./helpers";
import { postAs } from "./speaker";

// Search: a word from far back in a room is found from any page, with the word marked,
// and its result opens the room at the message, highlighted. Korean words are found
// inside the forms they were written in. Without JavaScript the results page still lists.

test("a word from 300 messages back is found, marked, and its result opens the room there", async ({ browser, baseURL }) => {
  const room = uniqueRoom("search");
  const word = `zephyr${Date.now().toString(36)}`;
  await postAs(baseURL!, "Olga", room, [
    `the ${word} plan, before everything else`,
    ...Array.from({ length: 300 }, (_, i) => `later message ${i}`),
  ]);
  const page = await (await browser.newContext()).newPage();
  await openChat(page, "/", "Sam");

  // From the room list's box: Enter goes to the results.
  await page.getByTestId("search-box").fill(word.toUpperCase());
  await page.getByTestId("search-box").press("Enter");
  await expect(page).toHaveURL(new RegExp(`/search\\?q=${word.toUpperCase()}$`));
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  const result = page.getByTestId("search-result");
  await expect(result).toHaveCount(1);
  await expect(result).toHaveAttribute("data-room", room);
  await expect(result.locator("mark")).toHaveText(word);
  await expect(result.getByTestId("search-result-text")).toHaveText(`the ${word} plan, before everything else`);
  await expect(result).toContainText(`#${room} · Olga ·`);
  // In the same frame as a room: the room list beside the results, the room it was
  // opened from marked, and the way back to it.
  await expect(page.getByTestId("room-list").locator('[data-room="lobby"]')).toHaveClass("current");
  await expect(page.getByTestId("search-page").getByRole("link", { name: "← #lobby" })).toBeVisible();

  // No accessibility problem on the results page.
  const scan = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"]).analyze();
  expect(scan.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`)).toEqual([]);

  // The keyboard opens it: the room, scrolled to the message 300 back, highlighted.
  const href = (await result.getAttribute("href"))!;
  await result.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/r/${room}$`));
  const found = page.getByTestId("message").filter({ hasText: `the ${word} plan` });
  await expect(found).toHaveClass(/highlighted/);
  await expect(found).toBeInViewport();
  await expect(page.getByTestId("room-name")).toHaveText(`#${room}`);

  // Its address opened in a tab of its own: the server renders the room around it, so
  // the page has it at once, highlighted, and loads nothing more for it.
  const tab = await page.context().newPage();
  const traffic = watch(tab);
  await tab.goto(href);
  await expect(tab.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  const there = tab.getByTestId("message").filter({ hasText: `the ${word} plan` });
  await expect(there).toHaveClass(/highlighted/);
  await expect(there).toBeInViewport();
  expect(traffic.sent.filter(({ frame }) => frame.type === "around")).toEqual([]);
});

test("results follow the box as one types, newest first; Korean is found inside its written forms", async ({ browser }) => {
  const room = uniqueRoom("live");
  const tag = Math.random().toString(36).slice(2, 8);
  const page = await (await browser.newContext()).newPage();
  await openChat(page, `/r/${room}`, "Yuna");
  const older = `내일 회의는 세 시 ${tag}`;
  const newer = `회의 자료 준비 ${tag}`;
  await say(page, older);
  await say(page, newer);
  await say(page, `nothing to do with it ${tag}`);
  await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");

  await page.goto(`/search?q=${encodeURIComponent("회의 " + tag)}`);
  const texts = page.getByTestId("search-result-text");
  await expect(texts).toHaveText([newer, older]);
  await expect(texts.nth(1).locator("mark")).toHaveText(["회의", tag]);

  // Typing changes the results a moment after the last key; the address follows.
  const input = page.getByTestId("search-input");
  await input.fill(`${tag} nothin`);
  await expect(texts).toHaveText([`nothing to do with it ${tag}`]);
  await expect(texts.first().locator("mark")).toHaveText(["nothing", tag]);
  await expect(page).toHaveURL(new RegExp(`/search\\?q=${tag}%20nothin$`));
  await input.fill(`회의는 ${tag}`);
  await expect(texts).toHaveText([older]);
  // Nothing found says so; quotes and operators are just text.
  await input.fill(`"${tag}" AND NOT zzzz`);
  await expect(page.getByTestId("search-status")).toHaveText(`No messages with “"${tag}" AND NOT zzzz”.`);
  await expect(texts).toHaveCount(0);
});

test("the search page is live once its part is in, keeping what was typed; without the part it works as a plain form", async ({
  browser,
}) => {
  const room = uniqueRoom("search-part");
  const tag = `p${Date.now().toString(36)}`;
  const page = await (await browser.newContext()).newPage();
  await openChat(page, `/r/${room}`, "Rae");
  await say(page, `first ${tag}`);
  await say(page, `second ${tag} word`);
  await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");

  // The part held back: the server's results show, and the box searches by a page load.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  await page.route("**/pkg/split_search.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`/search?q=${tag}`);
  const texts = page.getByTestId("search-result-text");
  await expect(texts).toHaveCount(2);
  // Typed while the part is on its way: kept, with the focus, once the page is live.
  await page.getByTestId("search-input").fill(`${tag} word`);
  release();
  await expect(texts).toHaveText([`second ${tag} word`]);
  await expect(page.getByTestId("search-input")).toHaveValue(`${tag} word`);
  await expect(page.getByTestId("search-input")).toBeFocused();
  // The address follows what was typed then, as it follows the box.
  await expect(page).toHaveURL(new RegExp(`/search\\?q=${tag}%20word$`));

  // The part cannot be had at all: the page is the server's, and its form still works.
  await page.unroute("**/pkg/split_search.wasm");
  await page.route("**/pkg/split_search.wasm", (route) => route.abort());
  await page.goto(`/search?q=${tag}`);
  await expect(texts).toHaveCount(2);
  await page.getByTestId("search-input").fill(`first ${tag}`);
  await page.getByTestId("search-input").press("Enter");
  await expect(page).toHaveURL(new RegExp(`/search\\?q=first(\\+|%20)${tag}$`));
  await expect(texts).toHaveText([`first ${tag}`]);
});

test("@nojs the search page lists results without JavaScript, a page at a time", async ({ page, baseURL }) => {
  const room = uniqueRoom("nojs-search");
  const tag = `q${Date.now().toString(36)}`;
  await postAs(baseURL!, "Nadia", room, Array.from({ length: 25 }, (_, i) => `item ${i} ${tag}`));
  // Then more than a page of others, so every result is further back than the newest 50.
  await postAs(baseURL!, "Nadia", room, Array.from({ length: 60 }, (_, i) => `chatter ${i}`));
  await page.goto(`/search?q=${tag}`);
  const texts = page.getByTestId("search-result-text");
  await expect(texts).toHaveCount(20);
  await expect(texts.first()).toHaveText(`item 24 ${tag}`);
  await expect(texts.first().locator("mark")).toHaveText(tag);
  await page.getByTestId("more-results").click();
  await expect(texts).toHaveCount(5);
  await expect(texts.last()).toHaveText(`item 0 ${tag}`);
  // The form asks again.
  await page.getByTestId("search-input").fill(`item 7 ${tag}`);
  await page.getByTestId("search-button").click();
  await expect(texts).toHaveText([`item 7 ${tag}`]);
  await expect(page.getByTestId("search-result")).toHaveAttribute("href", `/r/${room}?at=8#m-8`);
  // Followed: the room as the server renders it around that message, which is in view
  // and highlighted, with the newest messages below a gap.
  await page.getByTestId("search-result").click();
  const found = page.locator("#m-8");
  await expect(found).toHaveClass(/highlighted/);
  await expect(found).toContainText(`item 7 ${tag}`);
  await expect(found).toBeInViewport();
  await expect(page.getByTestId("message-text").filter({ hasText: "chatter 59" })).toHaveCount(1);
});
