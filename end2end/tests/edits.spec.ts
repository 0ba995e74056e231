import { test, expect } from "./fixtures";
import { person, say, unique, uniqueRoom } from "./helpers";
import { Speaker } from "./speaker";

// Authors edit (Up in an empty box, or Edit) and delete (Delete, then confirm) their own
// messages; everyone sees the latest state, live and in the server-rendered page.

test("an author edits with the Up arrow and deletes; the other person sees both, live and after a reload", async ({ browser }) => {
  const room = uniqueRoom("edits");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  const typo = unique("teh plan");
  await say(ann, typo);
  const mine = ann.getByTestId("message").filter({ hasText: typo });
  await expect(mine).toHaveAttribute("data-state", "sent");

  // Up in the empty box: her last message, to edit; Esc leaves it as it was.
  const input = ann.getByTestId("composer-input");
  await input.press("ArrowUp");
  await expect(input).toHaveValue(typo);
  await expect(ann.getByTestId("editing-hint")).toBeVisible();
  await input.press("Escape");
  await expect(input).toHaveValue("");
  await expect(ann.getByTestId("editing-hint")).toHaveCount(0);

  await input.press("ArrowUp");
  const fixed = typo.replace("teh", "the");
  await input.fill(fixed);
  await input.press("Enter");
  for (const page of [ann, bob]) {
    const row = page.getByTestId("message").filter({ hasText: fixed });
    await expect(row.getByTestId("message-text")).toHaveText(fixed);
    await expect(row.getByTestId("edited")).toHaveText("(edited)");
    await expect(page.getByTestId("message").filter({ hasText: typo })).toHaveCount(0);
  }

  // Bob may not edit or delete Ann's message: the page offers him nothing to click.
  const annsOnBob = bob.getByTestId("message").filter({ hasText: fixed });
  await annsOnBob.hover();
  await expect(annsOnBob.getByTestId("reply-button")).toBeVisible();
  await expect(annsOnBob.getByTestId("more-actions")).toBeHidden();
  await expect(annsOnBob.getByTestId("edit-button")).toBeHidden();
  await expect(annsOnBob.getByTestId("delete-button")).toBeHidden();

  // Delete, in the message's menu, asks once more, then the message is a tombstone for
  // everyone.
  const row = ann.getByTestId("message").filter({ hasText: fixed });
  await row.hover();
  await row.getByTestId("more-actions").click();
  await row.getByTestId("delete-button").click();
  await expect(row.getByTestId("delete-button")).toHaveText("Delete for everyone?", { useInnerText: true });
  await expect(row.getByTestId("delete-button")).toHaveAccessibleName("Delete for everyone?");
  await row.getByTestId("delete-button").click();
  for (const page of [ann, bob]) {
    await expect(page.getByTestId("message-deleted")).toHaveText(["message deleted"]);
    await expect(page.getByText(fixed)).toHaveCount(0);
  }
  await bob.reload();
  await expect(bob.getByTestId("message-deleted")).toHaveText(["message deleted"]);
  await expect(bob.getByText(fixed)).toHaveCount(0);
});

test("the Edit button edits any of my messages, and the edit survives a reload", async ({ browser }) => {
  const room = uniqueRoom("edit-button");
  const ann = await person(browser, "Ann", `/r/${room}`);
  const first = unique("first");
  const second = unique("second");
  await say(ann, first);
  await say(ann, second);
  const row = ann.getByTestId("message").filter({ hasText: first });
  await expect(row).toHaveAttribute("data-state", "sent");
  // Hidden until the pointer is on the message; Edit is in its menu.
  await ann.mouse.move(0, 0);
  await ann.getByTestId("composer-input").focus();
  await expect(row.locator(".actions")).toHaveCSS("opacity", "0");
  await row.hover();
  await expect(row.locator(".actions")).toHaveCSS("opacity", "1");
  await row.getByTestId("more-actions").click();
  await row.getByTestId("edit-button").click();
  const input = ann.getByTestId("composer-input");
  await expect(input).toHaveValue(first);
  await expect(input).toBeFocused();
  await input.fill(`${first} (revised)`);
  await ann.getByTestId("send-button").click();
  await expect(ann.getByTestId("message-text")).toHaveText([`${first} (revised)`, second]);
  await ann.reload();
  await expect(ann.getByTestId("message-text")).toHaveText([`${first} (revised)`, second]);
  await expect(ann.getByTestId("edited")).toHaveCount(1);
});

test("@nojs the server-rendered page shows messages in their latest state", async ({ page, baseURL }) => {
  const room = uniqueRoom("edits-nojs");
  const speaker = await Speaker.connect(baseURL!, "Nia");
  await speaker.join(room);
  const [kept, gone] = await speaker.post(room, [unique("kept"), unique("gone")]);
  speaker.send({ type: "edit", room, id: "edit-1", target: kept, text: "kept, edited" });
  speaker.send({ type: "delete", room, id: "delete-1", target: gone });
  await speaker.next((f) => f.type === "ack" && f.id === "delete-1");
  speaker.close();
  await page.goto(`/r/${room}`);
  await expect(page.getByTestId("message-text")).toHaveText(["kept, edited"]);
  await expect(page.getByTestId("edited")).toHaveText(["(edited)"]);
  await expect(page.getByTestId("message-deleted")).toHaveText(["message deleted"]);
});
