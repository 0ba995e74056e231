import { Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { openChat, person, uniqueRoom } from "./helpers";

// A message's files as people see them: a picture's thumbnail (opened large over the
// page, closed with Esc, Left and Right to the pictures before and after it) and another
// file's name, size and type, for its author and for others, live and without
// JavaScript, with no accessibility violations; gone for everyone when the message is
// deleted. The files are uploaded as the page's own requests do (`POST /files`, the
// session's cookie).

/** A 40×20 PNG (an opaque red block). */
const PICTURE = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAACgAAAAUCAIAAABwJOjsAAAAJElEQVR42mM4o6Q0IIhh1OJRi0ctHrV41OJRi0ctHrV45FgMAJxAUi7Hems4AAAAAElFTkSuQmCC",
  "base64",
);

/** Uploads `bytes` as `name` to `room`, as the person of `page`: the file's id. */
async function upload(page: Page, room: string, name: string, bytes: Buffer): Promise<string> {
  const origin = new URL(page.url()).origin;
  // The page starts its session (the cookie uploads go with) once it has a name.
  await expect
    .poll(async () => (await page.context().cookies()).some((c) => c.name === "palaver_session"))
    .toBe(true);
  const answer = await page.request.post(`/files?room=${room}&name=${encodeURIComponent(name)}`, {
    data: bytes,
    headers: { Origin: origin, "Content-Type": "application/octet-stream" },
  });
  expect(answer.status(), await answer.text()).toBe(201);
  return (await answer.json()).id;
}

/** Sends a message carrying `files` from `page`'s person, on a socket of its own. */
async function sendWith(page: Page, room: string, text: string, files: string[]) {
  const acked = await page.evaluate(
    async ({ room, text, files }) => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((r) => (ws.onopen = r));
      const frames: any[] = [];
      ws.onmessage = (e) => frames.push(JSON.parse(e.data));
      const until = async (type: string) => {
        for (let i = 0; i < 100 && !frames.some((f) => f.type === type); i++) await new Promise((r) => setTimeout(r, 50));
        return frames.find((f) => f.type === type);
      };
      ws.send(JSON.stringify({ type: "hello", token: localStorage.getItem("palaver.token") }));
      await until("welcome");
      ws.send(JSON.stringify({ type: "join", room }));
      await until("joined");
      ws.send(JSON.stringify({ type: "send", room, id: `f-${Date.now()}`, text, files }));
      const ack = await until("ack");
      ws.close();
      return ack ?? frames;
    },
    { room, text, files },
  );
  expect(acked.type, JSON.stringify(acked)).toBe("ack");
}

test("a message's files are shown to everyone, with and without JavaScript, and go with the message", async ({ browser, page }) => {
  const room = uniqueRoom("files");
  await openChat(page, `/r/${room}`, "Ann");
  const bob = await person(browser, "Bob", `/r/${room}`);
  const picture = await upload(page, room, "red block.png", PICTURE);
  const notes = await upload(page, room, "notes.txt", Buffer.from("Agenda\n1. files\n"));
  await sendWith(page, room, "the plan", [picture, notes]);

  for (const p of [page, bob]) {
    const message = p.getByTestId("message").filter({ hasText: "the plan" });
    const thumbnail = message.getByTestId("file-picture").locator("img");
    await expect(thumbnail).toHaveAttribute("src", `/files/${picture}/small`);
    await expect(thumbnail).toHaveAttribute("alt", "red block.png");
    await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(40);
    await expect(message.getByTestId("file-picture")).toHaveAccessibleName("red block.png");
    const file = message.getByTestId("file-link");
    await expect(file).toHaveText("notes.txt");
    await expect(file).toHaveAttribute("href", `/files/${notes}`);
    await expect(message.locator(".file-about")).toHaveText("16 B · text/plain");
  }
  // The picture opens large over the page, by mouse or keyboard; Esc closes it.
  const thumb = bob.getByTestId("message").filter({ hasText: "the plan" }).getByTestId("file-picture");
  await thumb.click();
  const viewer = bob.getByTestId("viewer");
  await expect(viewer).toBeVisible();
  await expect(viewer.locator("img")).toHaveAttribute("src", `/files/${picture}`);
  await expect(viewer.locator("img")).toHaveAttribute("alt", "red block.png");
  await expect.poll(() => viewer.locator("img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(40);
  await bob.keyboard.press("Escape");
  await expect(viewer).toBeHidden();
  await thumb.focus();
  await bob.keyboard.press("Enter");
  await expect(viewer).toBeVisible();
  await viewer.getByTestId("close-viewer").click();
  await expect(viewer).toBeHidden();
  const axe = await new AxeBuilder({ page: bob }).withTags(["wcag2a", "wcag2aa"]).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);

  // The page without JavaScript links them too (a public room: anyone reads it).
  const noJs = await (await bob.request.get(`/r/${room}`)).text();
  expect(noJs).toContain(`href="/files/${notes}"`);
  expect(noJs).toContain(`src="/files/${picture}/small"`);
  expect(noJs).toContain(`popovertarget="view-${picture}"`);
  // The picture opened is its large form; the other file is a download.
  const large = await bob.request.get(`/files/${picture}`);
  expect(large.headers()["content-type"]).toBe("image/webp");
  expect((await bob.request.get(`/files/${notes}`)).headers()["content-disposition"]).toMatch(/^attachment;/);

  // Deleted, the message takes its files with it, for everyone.
  const row = page.getByTestId("message").filter({ hasText: "the plan" });
  await row.hover();
  await row.getByTestId("more-actions").click();
  await row.getByTestId("delete-button").click();
  await row.getByTestId("delete-button").click();
  for (const p of [page, bob]) {
    await expect(p.getByTestId("file-picture")).toHaveCount(0);
    await expect(p.getByTestId("file-link")).toHaveCount(0);
  }
  await expect.poll(async () => (await bob.request.get(`/files/${notes}`)).status()).toBe(404);
});

test("Left and Right go from picture to picture in the viewer, by keyboard only", async ({ browser, page }) => {
  const room = uniqueRoom("pictures");
  await openChat(page, `/r/${room}`, "Ann");
  const first = await upload(page, room, "first.png", PICTURE);
  const second = await upload(page, room, "second.png", PICTURE);
  await sendWith(page, room, "one picture", [first]);
  await sendWith(page, room, "and another", [second]);
  const bob = await person(browser, "Bob", `/r/${room}`);
  const viewers = bob.getByTestId("viewer");
  await expect(bob.getByTestId("file-picture")).toHaveCount(2);

  await bob.getByTestId("message").filter({ hasText: "one picture" }).getByTestId("file-picture").focus();
  await bob.keyboard.press("Enter");
  await expect(viewers.nth(0)).toBeVisible();
  await bob.keyboard.press("ArrowRight");
  await expect(viewers.nth(1)).toBeVisible();
  await expect(viewers.nth(0)).toBeHidden();
  await expect(viewers.nth(1).locator("img")).toHaveAttribute("alt", "second.png");
  await expect(viewers.nth(1).getByTestId("close-viewer")).toBeFocused();
  // The last picture is the last: Right stays on it.
  await bob.keyboard.press("ArrowRight");
  await expect(viewers.nth(1)).toBeVisible();
  await bob.keyboard.press("ArrowLeft");
  await expect(viewers.nth(0)).toBeVisible();
  await expect(viewers.nth(1)).toBeHidden();
  await bob.keyboard.press("Escape");
  await expect(viewers).toHaveCount(2);
  await expect(viewers.nth(0)).toBeHidden();
  await expect(viewers.nth(1)).toBeHidden();
});
