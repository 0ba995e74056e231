import { expect, Page } from "@playwright/test";

/** Opens the chat and waits until the page is hydrated and its socket is open. */
export async function openChat(page: Page, url = "/") {
  await page.goto(url);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
}

/** Types a message and presses Enter. */
export async function say(page: Page, text: string) {
  const input = page.getByTestId("composer-input");
  await input.fill(text);
  await input.press("Enter");
}

/** The texts of the messages on the page, in order. */
export function messageTexts(page: Page) {
  return page.getByTestId("message-text");
}

/** A message unique to this test run, so tests sharing one server do not see each other's. */
export function unique(label: string) {
  return `${label} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
