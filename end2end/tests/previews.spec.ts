import { ChildProcess } from "child_process";
import { createServer, Server } from "http";
import { AddressInfo } from "net";
import { test, expect } from "./fixtures";
import { openChat, person, say, unique, uniqueRoom } from "./helpers";
import { freshDataDir, startServer, stopServer } from "../server";

// Link previews, on a server of their own that may fetch from this test's web server on
// loopback (PALAVER_PREVIEW_ADMIT): the card under a message, for its author and for
// others, with and without JavaScript, taken away by its author, and gone after an edit.

const port = Number(process.env.PALAVER_E2E_PREVIEW_PORT ?? 3224);
const base = `http://127.0.0.1:${port}`;
let server: ChildProcess;
let site: Server;
let siteBase: string;

test.beforeAll(async () => {
  site = createServer((req, res) => {
    if (req.url === "/article") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(`<html><head><title>Fallback</title>
        <meta property="og:title" content="How teams chat &amp; ship">
        <meta property="og:description" content="A field guide to &lt;chat&gt;.">
        <meta property="og:site_name" content="Field Notes">
        <meta property="og:image" content="/pic.png"></head><body></body></html>`);
    } else if (req.url === "/pic.png") {
      // One red pixel.
      const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
      res.writeHead(200, { "Content-Type": "image/png" });
      res.end(Buffer.from(png, "base64"));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  siteBase = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  server = await startServer(port, freshDataDir(), { PALAVER_PREVIEW_ADMIT: siteBase.slice("http://".length) });
});

test.afterAll(async () => {
  await stopServer(server);
  site.close();
});

test("a link gets its card under the message, for everyone, with and without JavaScript; its author removes it", async ({ browser, page }) => {
  const room = uniqueRoom("links");
  await openChat(page, `${base}/r/${room}`, "Ann");
  const bob = await person(browser, "Bob", `${base}/r/${room}`);
  const text = unique("read this");
  await say(page, `${text} ${siteBase}/article`);
  for (const p of [page, bob]) {
    const card = p.getByTestId("message").filter({ hasText: text }).getByTestId("link-preview");
    await expect(card).toBeVisible();
    await expect(card).toContainText("Field Notes");
    await expect(card).toContainText("How teams chat & ship");
    await expect(card).toContainText("A field guide to <chat>.");
    await expect(card).toHaveAttribute("href", `${siteBase}/article`);
    await expect(card).toHaveAttribute("rel", "noopener noreferrer nofollow");
    // Its picture is the server's own thumbnail, loaded from the server.
    const picture = card.getByTestId("link-preview-picture");
    await expect(picture).toHaveAttribute("src", /^\/previews\/[0-9a-f]{32}\.webp$/);
    await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  }
  // The page without JavaScript has it too, its text escaped.
  const noJs = await (await fetch(`${base}/r/${room}`)).text();
  expect(noJs).toContain('data-testid="link-preview"');
  expect(noJs).toContain("A field guide to &lt;chat&gt;.");

  // Its author may take the card away (nobody else is offered to), for everyone.
  const again = unique("once more");
  await say(page, `${again} ${siteBase}/article`);
  const theirs = bob.getByTestId("message").filter({ hasText: again });
  await expect(theirs.getByTestId("link-preview")).toBeVisible();
  await expect(theirs.getByTestId("remove-preview")).toBeHidden();
  await page.getByTestId("message").filter({ hasText: again }).getByTestId("remove-preview").click();
  await expect(theirs.getByTestId("link-preview")).toHaveCount(0);
  await expect(page.getByTestId("message").filter({ hasText: again }).getByTestId("link-preview")).toHaveCount(0);

  // Edited to another text, the message loses the card, for everyone.
  const mine = page.getByTestId("message").filter({ hasText: text });
  await mine.hover();
  await mine.getByTestId("more-actions").click();
  await mine.getByTestId("edit-button").click();
  await page.getByTestId("composer-input").fill(`${text} (no link now)`);
  await page.getByTestId("composer-input").press("Enter");
  await expect(bob.getByTestId("message").filter({ hasText: "(no link now)" })).toBeVisible();
  await expect(bob.getByTestId("link-preview")).toHaveCount(0);
  await expect(page.getByTestId("link-preview")).toHaveCount(0);
});
