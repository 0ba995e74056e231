import { test as base, expect } from "@playwright/test";

/**
 * Playwright's `test`, closing every browser context a test opened itself (people
 * made with `browser.newContext()`) when it ends, so that their pages do not live on,
 * connected and busy, through the rest of the run.
 */
export const test = base.extend<{ closeOwnContexts: void }>({
  closeOwnContexts: [
    async ({ browser, context }, use) => {
      await use();
      for (const opened of browser.contexts()) {
        if (opened !== context) {
          await opened.close().catch(() => {});
        }
      }
    },
    { auto: true },
  ],
});

export { expect };
