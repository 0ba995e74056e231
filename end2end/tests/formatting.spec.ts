import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { person, say, unique, uniqueRoom } from "./helpers";
import { postAs } from "./speaker";

// Messages are formatted (a small Markdown subset, app/src/markdown.rs) by the same code
// on the server and in the browser; markup in them is never interpreted.

const hostile = [
  "<script>window.pwned = 1</script>",
  '<img src="x" onerror="window.pwned = 1">',
  "[click me](javascript:window.pwned=1)",
  "[data](data:text/html,<script>window.pwned=1</script>)",
];

async function checkFormatting(page: Page, marker: string) {
  const row = page.getByTestId("message").filter({ hasText: `${marker} emphasis` });
  await expect(row.locator("em")).toHaveText("emphasis");
  await expect(row.locator("strong")).toHaveText("strong");
  await expect(row.locator("code")).toHaveText("a < b");

  const block = page.getByTestId("message").filter({ hasText: `${marker} block` });
  await expect(block.locator("pre")).toHaveText("fn main() {\n    println!(\"<hi>\");\n}\n");
  await expect(block.locator("blockquote")).toHaveText("quoted");
  await expect(block.locator("ul li")).toHaveText(["one", "two"]);
  // A numbered list right after the bullets is a list of its own.
  await expect(block.locator("ol li")).toHaveText(["first", "second"]);

  const links = page.getByTestId("message").filter({ hasText: `${marker} links` });
  for (const href of ["https://example.com/a?b=1", "https://example.org/"]) {
    const link = links.locator(`a[href="${href}"]`);
    await expect(link).toHaveAttribute("rel", "noopener noreferrer nofollow");
    await expect(link).toHaveAttribute("target", "_blank");
  }

  for (const text of hostile) {
    await expect(page.getByTestId("message-text").filter({ hasText: text })).toHaveCount(1);
  }
  await expect(page.locator(".messages script, .messages img")).toHaveCount(0);
  await expect(page.locator('.messages a[href^="javascript"], .messages a[href^="data"]')).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined();
}

function samples(marker: string) {
  return [
    `${marker} *emphasis* and **strong** and \`a < b\``,
    `${marker} block\n\`\`\`\nfn main() {\n    println!("<hi>");\n}\n\`\`\`\n> quoted\n\n- one\n- two\n1. first\n2. second`,
    `${marker} links: https://example.com/a?b=1, and [a site](https://example.org/).`,
    ...hostile,
  ];
}

test("messages are formatted, links open safely, and markup in them is shown as text", async ({ browser, baseURL }) => {
  const room = uniqueRoom("format");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const marker = unique("fmt");
  await postAs(baseURL!, "Bob", room, samples(marker));
  await checkFormatting(ann, marker);

  // Typed in the page, the same: formatted for everyone, markup as text.
  const bea = await person(browser, "Bea", `/r/${room}`);
  const typed = unique("typed");
  await say(ann, `**${typed}** <b>not bold</b>`);
  for (const page of [ann, bea]) {
    const row = page.getByTestId("message").filter({ hasText: typed });
    await expect(row.locator("strong")).toHaveText(typed);
    await expect(row.getByTestId("message-text")).toHaveText(`${typed} <b>not bold</b>`);
    await expect(row.locator("b")).toHaveCount(0);
  }
  // After a reload, from the server's page and then hydrated: still the same.
  await ann.reload();
  await checkFormatting(ann, marker);
});

test("@nojs the server-rendered page formats messages the same way", async ({ page, baseURL }) => {
  const room = uniqueRoom("format-nojs");
  const marker = unique("ssr");
  await postAs(baseURL!, "Bob", room, samples(marker));
  await page.goto(`/r/${room}`);
  await expect(page.getByText(/needs JavaScript/)).toBeVisible();
  await checkFormatting(page, marker);
});
