import { test, expect } from "./fixtures";
import { person, say, uniqueRoom } from "./helpers";

// Reading: one author's messages close together share one name line and avatar; each
// time carries its exact instant.

test("one author's messages in a row share a name line; another author starts a new one", async ({ browser }) => {
  const room = uniqueRoom("groups");
  const ann = await person(browser, "Ann Lee", `/r/${room}`);
  const bob = await person(browser, "Bob", `/r/${room}`);
  await say(ann, "one");
  await say(ann, "two");
  await expect(bob.getByTestId("message")).toHaveCount(2);
  await say(bob, "three");
  await say(ann, "four");
  const rows = bob.getByTestId("message");
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).not.toHaveClass(/continued/);
  await expect(rows.nth(1)).toHaveClass(/continued/);
  await expect(rows.nth(2)).not.toHaveClass(/continued/);
  await expect(rows.nth(3)).not.toHaveClass(/continued/);
  await expect(rows.nth(0).getByTestId("message-author")).toBeVisible();
  await expect(rows.nth(1).getByTestId("message-author")).toBeHidden();
  await expect(rows.nth(0).locator(".avatar")).toHaveText("AL");
  await expect(rows.nth(0).locator(".avatar")).toHaveAttribute("aria-hidden", "true");
  // The same after a reload, rendered by the server.
  await bob.reload();
  await expect(bob.getByTestId("message").nth(1)).toHaveClass(/continued/);
  await expect(bob.getByTestId("message").nth(2)).not.toHaveClass(/continued/);
  // Each time says its exact instant (for the tooltip and for machines).
  const time = bob.getByTestId("message-time").first();
  await expect(time).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await expect(time).toHaveAttribute("title", /^[A-Z][a-z]+day, \d{1,2} [A-Z][a-z]+ \d{4}, \d{1,2}:\d\d [AP]M$/);
});
