import { test, expect } from "./fixtures";
import { openChat, person, unique, uniqueRoom } from "./helpers";

// Writing: Enter sends, Shift+Enter starts a new line, an input method's Enter only ends
// its composition (Korean typed and sent end to end), and each room keeps its draft.

test("Shift+Enter starts a new line; Enter sends the lines as one message", async ({ browser }) => {
  const room = uniqueRoom("lines");
  const page = await person(browser, "Ann", `/r/${room}`);
  const input = page.getByTestId("composer-input");
  await input.pressSequentially("first line");
  await input.press("Shift+Enter");
  await input.pressSequentially("second line");
  await expect(input).toHaveValue("first line\nsecond line");
  const oneLine = (await input.boundingBox())!.height;
  await input.press("Shift+Enter");
  await input.pressSequentially("third");
  expect((await input.boundingBox())!.height, "the box grows with the lines").toBeGreaterThan(oneLine);
  await input.press("Enter");
  await expect(input).toHaveValue("");
  const text = page.getByTestId("message-text");
  await expect(text).toHaveCount(1);
  await expect(text).toHaveText("first line\nsecond line\nthird");
});

test("Korean typed with an input method: Enter ends the composition, the next Enter sends once", async ({ browser }) => {
  const room = uniqueRoom("ime");
  const page = await person(browser, "민수", `/r/${room}`);
  const input = page.getByTestId("composer-input");
  await input.focus();
  const cdp = await page.context().newCDPSession(page);
  // Composing 회의: each step as the input method shows it, then Enter while composing.
  for (const step of ["ㅎ", "회", "회의"]) {
    await cdp.send("Input.imeSetComposition", { text: step, selectionStart: step.length, selectionEnd: step.length });
  }
  const composingEnter = await input.evaluate((el) => {
    const ev = new KeyboardEvent("keydown", { key: "Enter", isComposing: true, bubbles: true, cancelable: true });
    el.dispatchEvent(ev);
    return ev.defaultPrevented;
  });
  expect(composingEnter, "an Enter that ends a composition is left to the input method").toBe(false);
  await cdp.send("Input.insertText", { text: "회의" });
  await input.evaluate((el) => el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", keyCode: 229, bubbles: true })));
  await expect(page.getByTestId("message")).toHaveCount(0);
  await expect(input).toHaveValue("회의");
  await cdp.send("Input.insertText", { text: "는 세 시" });
  await input.press("Enter");
  await expect(page.getByTestId("message-text")).toHaveText(["회의는 세 시"]);
  await expect(page.getByTestId("message")).toHaveAttribute("data-state", "sent");
  await page.reload();
  await expect(page.getByTestId("message-text")).toHaveText(["회의는 세 시"]);
});

test("each room keeps its draft while another is shown", async ({ browser }) => {
  const first = uniqueRoom("draft-a");
  const second = uniqueRoom("draft-b");
  const page = await (await browser.newContext()).newPage();
  await openChat(page, `/r/${first}`, "Dee");
  const input = page.getByTestId("composer-input");
  const draft = unique("half a thought");
  await input.fill(draft);
  await page.getByTestId("join-room-input").fill(second);
  await page.getByTestId("join-room-input").press("Enter");
  await expect(page.getByTestId("room-name")).toHaveText(`#${second}`);
  await expect(input).toHaveValue("");
  await page.goBack();
  await expect(page.getByTestId("room-name")).toHaveText(`#${first}`);
  await expect(input).toHaveValue(draft);
});

test("after choosing a name with Enter the next words go into the box; Change name puts the focus in the name box", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`/r/${uniqueRoom("focus")}`);
  await expect(page.getByTestId("connection-status")).toHaveAttribute("data-status", "connected");
  await page.getByTestId("name-input").fill("Ann");
  await page.getByTestId("name-input").press("Enter");
  await expect(page.getByTestId("composer-input")).toBeFocused();
  await page.keyboard.type("first words");
  await expect(page.getByTestId("composer-input")).toHaveValue("first words");

  await page.getByTestId("rename-button").click();
  await expect(page.getByTestId("name-input")).toBeFocused();
  await page.keyboard.press("End");
  await page.keyboard.type("a");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("my-name")).toHaveText("Anna");
  await expect(page.getByTestId("composer-input")).toBeFocused();
  await expect(page.getByTestId("composer-input")).toHaveValue("first words");
});
