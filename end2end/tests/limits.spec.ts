import { test, expect } from "@playwright/test";
import { messageTexts, openChat, watch } from "./helpers";
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
