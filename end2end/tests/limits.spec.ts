import { test, expect } from "@playwright/test";
import { openChat, say } from "./helpers";
import { freshDataDir, startServer, stopServer } from "../server";

// A server of this test's own, with the default limits.
const port = Number(process.env.PALAVER_E2E_LIMITS_PORT ?? 3219);

test("messages typed faster than the rate limit all arrive, once each, a little later", async ({ page, browser }) => {
  const server = await startServer(port, freshDataDir());
  try {
    const url = `http://127.0.0.1:${port}/r/fast`;
    await openChat(page, url, "Quick");
    const other = await (await browser.newContext()).newPage();
    await openChat(other, url, "Reader");
    const texts = Array.from({ length: 16 }, (_, i) => `burst ${i + 1}`);
    for (const t of texts) {
      await say(page, t);
    }
    // Beyond the burst of 10 the server says "slow down"; the page waits and resends.
    for (const t of texts) {
      const row = page.getByTestId("message").filter({ has: page.getByText(t, { exact: true }) });
      await expect(row).toHaveAttribute("data-state", "sent", { timeout: 10_000 });
    }
    await expect.poll(() => other.getByTestId("message-text").allTextContents(), { timeout: 10_000 }).toEqual(texts);
    await expect(page.getByTestId("retry")).toHaveCount(0);
  } finally {
    await stopServer(server);
  }
});
