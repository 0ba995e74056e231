import { Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { openChat, person, uniqueRoom, watchedPerson } from "./helpers";

// Attaching files in the composer, as people do: the paper clip (by keyboard), a
// screenshot pasted into the box, a file dropped on the page; each uploaded at once with
// its progress and a × that cancels it; the message goes when its files are stored, to
// everyone, once. The tray's code is a part of the page loaded after its first screen.

/** A 40×20 PNG (an opaque red block), as a pasted screenshot would be. */
const PICTURE = "iVBORw0KGgoAAAANSUhEUgAAACgAAAAUCAIAAABwJOjsAAAAJElEQVR42mM4o6Q0IIhh1OJRi0ctHrV41OJRi0ctHrV45FgMAJxAUi7Hems4AAAAAElFTkSuQmCC";

/** Dispatches `kind` ("paste" or "drop") with one file on the element `selector` names. */
async function handOver(page: Page, kind: "paste" | "drop", selector: string, file: { name: string; base64: string; type: string }) {
  await page.evaluate(
    ({ kind, selector, file }) => {
      const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], file.name, { type: file.type }));
      const target = document.querySelector(selector)!;
      if (kind === "paste") {
        target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
      } else {
        target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
      }
    },
    { kind, selector, file },
  );
}

/** The tray's rows, once every one of them is stored. */
async function allStored(page: Page, count: number) {
  const rows = page.getByTestId("upload");
  await expect(rows).toHaveCount(count);
  for (let i = 0; i < count; i++) {
    await expect(rows.nth(i).getByTestId("upload-progress")).toHaveAttribute("value", "1");
  }
}

test("files go with a message by the paper clip, a paste and a drop, to everyone, once", async ({ browser }) => {
  const room = uniqueRoom("attach");
  const { page, traffic } = await watchedPerson(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  await expect(page.getByTestId("tray")).toBeHidden();

  // The paper clip, by keyboard: the browser's file picker. (Playwright catches pickers
  // once a listener has asked it to, a round trip later: asked first, the Enter
  // straight after the focus does not race it.)
  page.on("filechooser", () => {});
  await page.getByTestId("attach-button").focus();
  const [picker] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
  expect(picker.isMultiple()).toBe(true);
  await picker.setFiles([{ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("Agenda\n1. files\n") }]);
  await allStored(page, 1);
  await expect(page.getByTestId("upload").first()).toContainText("notes.txt");
  await expect(page.getByTestId("upload").first()).toContainText("16 B");

  // A screenshot pasted into the box, and a file dropped on the messages.
  await handOver(page, "paste", "[data-testid=composer-input]", { name: "image.png", base64: PICTURE, type: "image/png" });
  await handOver(page, "drop", "[data-testid=message-list]", {
    name: "log.txt",
    base64: Buffer.from("started\nstopped\n").toString("base64"),
    type: "text/plain",
  });
  await allStored(page, 3);
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);

  // A file taken off by its × does not go.
  await page.getByTestId("upload").filter({ hasText: "log.txt" }).getByTestId("remove-upload").click();
  await expect(page.getByTestId("upload")).toHaveCount(2);
  await expect(page.getByTestId("composer-input")).toBeFocused();

  // The caption is the message's text; the tray empties.
  await page.getByTestId("composer-input").fill("the plan");
  await page.getByTestId("composer-input").press("Enter");
  await expect(page.getByTestId("tray")).toBeHidden();
  for (const p of [page, bob]) {
    const message = p.getByTestId("message").filter({ hasText: "the plan" });
    await expect(message.getByTestId("file-link")).toHaveText("notes.txt");
    await expect(message.getByTestId("file-picture").locator("img")).toHaveAttribute("alt", "image.png");
    await expect(p.getByTestId("file-link").filter({ hasText: "log.txt" })).toHaveCount(0);
  }
  // Sent once, naming the two files.
  const sends = traffic.sent.filter((s) => s.frame.type === "send");
  expect(sends.length).toBe(1);
  expect(sends[0].frame.files.length).toBe(2);

  // Files alone, without a caption, go too.
  await handOver(page, "paste", "[data-testid=composer-input]", { name: "second.png", base64: PICTURE, type: "image/png" });
  await allStored(page, 1);
  await expect(page.getByTestId("send-button")).toBeEnabled();
  await page.getByTestId("send-button").click();
  await expect(bob.getByTestId("file-picture").locator("img[alt='second.png']")).toHaveCount(1);
});

test("an upload shows its progress, a × cancels it, and a message waits for its files", async ({ browser, page }) => {
  const room = uniqueRoom("progress");
  await openChat(page, `/r/${room}`, "Ann");
  const bob = await person(browser, "Bob", `/r/${room}`);
  // A slow line: about 1 MB in four seconds.
  const cdp = await page.context().newCDPSession(page);
  const slow = async (bytesPerSecond: number) =>
    cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 20,
      downloadThroughput: -1,
      uploadThroughput: bytesPerSecond,
    });
  await slow(250_000);
  const big = Buffer.alloc(1_000_000, 7);
  const pick = async (name: string, buffer: Buffer) => {
    const [picker] = await Promise.all([page.waitForEvent("filechooser"), page.getByTestId("attach-button").click()]);
    await picker.setFiles([{ name, mimeType: "application/octet-stream", buffer }]);
  };

  await pick("first.bin", big);
  const bar = page.getByTestId("upload").getByTestId("upload-progress");
  await expect.poll(async () => Number(await bar.getAttribute("value"))).toBeGreaterThan(0);
  expect(Number(await bar.getAttribute("value"))).toBeLessThan(1);
  await expect(bar).toHaveAccessibleName("Uploading first.bin");
  // Cancelled: gone from the tray, and nothing to send.
  await page.getByTestId("remove-upload").click();
  await expect(page.getByTestId("upload")).toHaveCount(0);
  await expect(page.getByTestId("send-button")).toBeDisabled();

  // Sent while its file still uploads: shown at once as being sent, delivered after.
  await pick("second.bin", big);
  await expect.poll(async () => Number(await bar.getAttribute("value"))).toBeGreaterThan(0);
  await page.getByTestId("composer-input").fill("big one");
  await page.getByTestId("composer-input").press("Enter");
  const mine = page.getByTestId("message").filter({ hasText: "big one" });
  await expect(mine).toHaveAttribute("data-state", "pending");
  await expect(page.getByTestId("upload")).toHaveCount(1);
  await expect(bob.getByTestId("message").filter({ hasText: "big one" })).toHaveCount(0);
  await slow(-1);
  await expect(mine).toHaveAttribute("data-state", "sent");
  await expect(page.getByTestId("upload")).toHaveCount(0);
  await expect(bob.getByTestId("message").filter({ hasText: "big one" }).getByTestId("file-link")).toHaveText("second.bin");
});

test("a file over the limit is refused before it goes, and an upload the network broke off starts again", async ({ page }) => {
  const room = uniqueRoom("limits");
  await openChat(page, `/r/${room}`, "Ann");
  const mb = Number(await page.locator("html").getAttribute("data-file-mb"));
  expect(mb).toBeGreaterThan(0);
  const uploads: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/files?")) uploads.push(r.url());
  });
  const [picker] = await Promise.all([page.waitForEvent("filechooser"), page.getByTestId("attach-button").click()]);
  await picker.setFiles([{ name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(mb * 1_048_576 + 1) }]);
  await expect(page.getByTestId("upload-error")).toHaveText(`huge.bin is larger than ${mb}.0 MB, the most a file may be`);
  expect(uploads).toEqual([]);
  await page.getByTestId("remove-upload").click();

  // Offline when it starts: it fails, and goes again once the line is back.
  await page.context().setOffline(true);
  await handOver(page, "paste", "[data-testid=composer-input]", { name: "again.png", base64: PICTURE, type: "image/png" });
  await expect.poll(() => uploads.length).toBeGreaterThan(0);
  await page.context().setOffline(false);
  await allStored(page, 1);
  await page.getByTestId("send-button").click();
  await expect(page.getByTestId("message").getByTestId("file-picture")).toHaveCount(1);
  await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", "sent");
});

test("when the files' part cannot be fetched, the tray says so, and the paper clip tries again", async ({ page }) => {
  // The part fails as a dropped line would; the chat itself works on.
  await page.route("**/pkg/split_uploads.wasm", (route) => route.abort());
  const room = uniqueRoom("no-part");
  await openChat(page, `/r/${room}`, "Ann");
  await expect(page.getByTestId("tray")).toHaveText("Files cannot be attached now; try again");
  await expect(page.getByTestId("tray")).toBeVisible();
  await page.getByTestId("composer-input").fill("still here");
  await page.getByTestId("composer-input").press("Enter");
  await expect(page.getByTestId("message").filter({ hasText: "still here" })).toHaveAttribute("data-state", "sent");

  // The line is back: the paper clip fetches the part and opens the picker.
  await page.unroute("**/pkg/split_uploads.wasm");
  const [picker] = await Promise.all([page.waitForEvent("filechooser"), page.getByTestId("attach-button").click()]);
  await picker.setFiles([{ name: "late.txt", mimeType: "text/plain", buffer: Buffer.from("late\n") }]);
  await allStored(page, 1);
  await expect(page.getByTestId("upload")).toContainText("late.txt");
});
