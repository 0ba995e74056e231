import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { openChat, uniqueRoom } from "./helpers";
import { postAs } from "./speaker";

// First load of a room with history: nothing on the page moves once it is shown
// (cumulative layout shift), and how soon its largest part is painted (printed).

/** Records layout shifts and the largest contentful paint from the page's first byte. */
async function observe(page: Page) {
  await page.addInitScript(() => {
    const w = window as any;
    w.__shifts = [];
    w.__lcp = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as any[]) {
        if (!e.hadRecentInput) w.__shifts.push({ value: e.value, at: e.startTime, sources: (e.sources || []).map((s: any) => s.node?.outerHTML?.slice(0, 80)) });
      }
    }).observe({ type: "layout-shift", buffered: true });
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      w.__lcp = entries[entries.length - 1].startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
  });
}

for (const who of ["a visitor", "someone with a name"]) {
  test(`no layout shift on first load of a room with 50 messages, for ${who}`, async ({ browser, baseURL }) => {
    const room = uniqueRoom("smooth");
    await postAs(baseURL!, "Olga", room, Array.from({ length: 50 }, (_, i) => `message number ${i} with some words in it`));
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    if (who !== "a visitor") {
      const first = await context.newPage();
      await openChat(first, "/", "Nia");
      await first.close();
    }
    const page = await context.newPage();
    await observe(page);
    await page.goto(`/r/${room}`);
    await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
    await page.waitForTimeout(1000);
    // The largest paint is reported once it is on screen: on a busy host, a moment later.
    await expect.poll(() => page.evaluate(() => (window as any).__lcp), { timeout: 10_000 }).toBeGreaterThan(0);
    const { shifts, lcp } = await page.evaluate(() => ({ shifts: (window as any).__shifts, lcp: (window as any).__lcp }));
    const cls = shifts.reduce((sum: number, s: { value: number }) => sum + s.value, 0);
    console.log(`first load of a room with 50 messages, ${who}: cumulative layout shift ${cls.toFixed(4)}, largest contentful paint ${lcp.toFixed(0)} ms`);
    expect(cls, JSON.stringify(shifts)).toBeLessThan(0.02);
    expect(lcp).toBeGreaterThan(0);
  });
}
