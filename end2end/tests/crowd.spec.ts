import { test, expect } from "./fixtures";
import { openChat, uniqueRoom } from "./helpers";
import { Speaker } from "./speaker";

// A room with more people online than a list names (500): the header counts everyone,
// names the first of them and ends the names with "…"; once the room is small again,
// the count and the names are everyone's again.
test("a crowded room counts everyone online and shows that its names go on", async ({ page, baseURL }) => {
  const room = uniqueRoom("crowd");
  const crowd: Speaker[] = [];
  try {
    for (let batch = 0; batch < 11; batch++) {
      const joined = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const speaker = await Speaker.connect(baseURL!, `crowd ${batch * 50 + i}`);
          await speaker.join(room);
          return speaker;
        }),
      );
      crowd.push(...joined);
    }
    await openChat(page, `/r/${room}`, "Watcher");
    await expect(page.getByTestId("online-count")).toHaveText("551");
    const names = page.getByTestId("online-names");
    await expect(names).toHaveClass("more");
    expect(await names.evaluate((el) => getComputedStyle(el, "::after").content)).toBe('", …"');
    // Fifty-two leave: 499 are left, all of them named, the last name without "…".
    for (const speaker of crowd.splice(0, 52)) speaker.close();
    await expect(page.getByTestId("online-count")).toHaveText("499", { timeout: 10_000 });
    await expect(names).not.toHaveClass("more");
    expect((await names.textContent())!.split(", ")).toHaveLength(499);
  } finally {
    crowd.forEach((speaker) => speaker.close());
  }
});
