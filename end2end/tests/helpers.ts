import { expect, Page, Browser, WebSocket } from "@playwright/test";

/**
 * Opens a room page as a first-time visitor called `name`: waits for hydration, picks
 * the name, and waits until the room is live.
 */
export async function openChat(page: Page, url = "/", name = "Tester") {
  await page.goto(url);
  const form = page.getByTestId("name-form");
  const me = page.getByTestId("me");
  await expect(form.or(me)).toBeVisible();
  if (await form.isVisible()) {
    await page.getByTestId("name-input").fill(name);
    await page.getByTestId("name-button").click();
  }
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await expect(page.getByTestId("my-name")).toHaveText(name);
}

/** A fresh browser (its own storage: a different person) on a room page. */
export async function person(browser: Browser, name: string, url = "/") {
  const page = await (await browser.newContext()).newPage();
  await openChat(page, url, name);
  return page;
}

/** What a page's chat sockets sent and received, frame by frame, from when it is watched. */
export type Traffic = {
  sockets: WebSocket[];
  sent: { socket: number; frame: any }[];
  received: { socket: number; frame: any }[];
};

/** Starts recording every chat socket `page` opens from now on, and its frames. */
export function watch(page: Page): Traffic {
  const traffic: Traffic = { sockets: [], sent: [], received: [] };
  page.on("websocket", (ws) => {
    const socket = traffic.sockets.push(ws) - 1;
    ws.on("framesent", (f) => traffic.sent.push({ socket, frame: JSON.parse(String(f.payload)) }));
    ws.on("framereceived", (f) => traffic.received.push({ socket, frame: JSON.parse(String(f.payload)) }));
  });
  return traffic;
}

/** Like `person`, with the page's socket traffic recorded from the start. */
export async function watchedPerson(browser: Browser, name: string, url = "/") {
  const page = await (await browser.newContext()).newPage();
  const traffic = watch(page);
  await openChat(page, url, name);
  return { page, traffic };
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

/** A name unique to this test run, so tests sharing one server do not see each other's. */
export function unique(label: string) {
  return `${label} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A room name unique to this test run. */
export function uniqueRoom(label: string) {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
