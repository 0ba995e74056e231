import { test, expect } from "@playwright/test";
import { openChat, say } from "../tests/helpers";
import { Speaker } from "../tests/speaker";

// A small conversation in a room, photographed in both themes on a desktop and a phone.

const SHOTS = [
  { name: "desktop-light", scheme: "light", width: 1200, height: 720, mobile: false },
  { name: "desktop-dark", scheme: "dark", width: 1200, height: 720, mobile: false },
  { name: "phone-light", scheme: "light", width: 390, height: 780, mobile: true },
  { name: "phone-dark", scheme: "dark", width: 390, height: 780, mobile: true },
] as const;

test("the README's screenshots", async ({ browser, baseURL }) => {
  const room = `design-${Date.now().toString(36)}`;
  const olga = await Speaker.connect(baseURL!, "Olga Petrova");
  const min = await Speaker.connect(baseURL!, "김민수");
  await olga.join(room);
  await min.join(room);
  const [question] = await olga.post(room, ["Morning! Is the **release** still on for Friday?"]);
  await min.post(room, ["I think so. The last two fixes are in review:\n- the reconnect banner\n- `Up` to edit"]);
  min.send({ type: "send", room, id: "r1", text: "@Olga Petrova yes, Friday at 3", reply_to: question });
  await min.next((f) => f.type === "ack" && f.id === "r1");
  olga.send({ type: "react", room, id: "x1", target: question + 2, emoji: "🎉" });
  await olga.next((f) => f.type === "ack" && f.id === "x1");
  for (const shot of SHOTS) {
    const context = await browser.newContext({
      colorScheme: shot.scheme,
      viewport: { width: shot.width, height: shot.height },
      isMobile: shot.mobile,
      hasTouch: shot.mobile,
      deviceScaleFactor: shot.mobile ? 2 : 1,
    });
    const page = await context.newPage();
    await openChat(page, `/r/${room}`, "Ann");
    await expect(page.getByTestId("message")).toHaveCount(shot.name === "desktop-light" ? 3 : 4);
    if (shot.name === "desktop-light") await say(page, "Great, thanks both 👍");
    await expect(page.getByTestId("message").last()).toHaveAttribute("data-state", /sent|received/);
    // On a desktop, the pointer on a message shows its actions.
    if (!shot.mobile) await page.getByTestId("message").nth(1).hover();
    await page.screenshot({ path: `../docs/screenshots/${shot.name}.png` });
    await context.close();
  }
  olga.close();
  min.close();
});
