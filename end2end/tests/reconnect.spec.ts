import { test, expect } from "@playwright/test";
import { openChat, say, unique } from "./helpers";
import { freshDataDir, startServer, stopServer } from "../server";

// A server of this test's own, so it can be stopped and started again.
const port = Number(process.env.PALAVER_E2E_RESTART_PORT ?? 3218);

test("the page reconnects by itself after the server restarts, and sends what waited", async ({ page }) => {
  // The same data directory across the restart, as a real deployment has.
  const data = freshDataDir();
  let server = await startServer(port, data);
  try {
    await openChat(page, `http://127.0.0.1:${port}/`);
    const status = page.getByTestId("connection-status");
    await expect(status).toHaveText("Connected");

    await stopServer(server);
    await expect(status).toHaveAttribute("data-status", "reconnecting");
    await expect(status).toHaveText(/reconnecting/i);

    // Typed while the server is down: shown at once, pending.
    const text = unique("typed while offline");
    await say(page, text);
    const message = page.getByTestId("message").filter({ hasText: text });
    await expect(message).toHaveAttribute("data-state", "pending");

    server = await startServer(port, data);
    await expect(status).toHaveAttribute("data-status", "connected", { timeout: 20_000 });
    await expect(message).toHaveAttribute("data-state", "sent");
    await expect(page.getByTestId("message").filter({ hasText: text })).toHaveCount(1);

    // And the restarted server delivered it to others too.
    const other = await (await page.context().browser()!.newContext()).newPage();
    await openChat(other, `http://127.0.0.1:${port}/`, "Other");
    await expect(other.getByText(text)).toBeVisible();
  } finally {
    await stopServer(server);
  }
});
