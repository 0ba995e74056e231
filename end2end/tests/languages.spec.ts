import { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import AxeBuilder from "@axe-core/playwright";
import { openChat, say, unique, uniqueRoom } from "./helpers";

// Two languages: the server renders the page in the reader's language (their browser's
// Accept-Language, or the one they chose with the page's switch, remembered), with times
// as that language writes them in the reader's time zone. And a day's name above its
// messages.

const SEOUL = { locale: "ko-KR", timezoneId: "Asia/Seoul" };
const HOUR_MS = 3_600_000;

/** The hour and minute an ISO instant shows on a clock `offsetHours` east of UTC, on a 12-hour dial. */
function dial(iso: string, offsetHours: number) {
  const at = new Date(Date.parse(iso) + offsetHours * HOUR_MS);
  const h24 = at.getUTCHours();
  return { hour: h24 % 12 === 0 ? 12 : h24 % 12, minute: at.getUTCMinutes(), pm: h24 >= 12 };
}

async function firstMessageTime(page: Page) {
  const time = page.getByTestId("message-time").first();
  return { text: (await time.textContent()) ?? "", iso: (await time.getAttribute("datetime")) ?? "" };
}

test("a Korean browser gets the page in Korean, times in its own zone, rendered so by the server", async ({ browser }) => {
  const context = await browser.newContext(SEOUL);
  const page = await context.newPage();
  const room = uniqueRoom("hangul");

  // The server's HTML is already Korean.
  const html = await (await context.request.get(`/r/${room}`, { headers: { "accept-language": "ko-KR,ko;q=0.9" } })).text();
  expect(html).toContain('<html lang="ko"');
  expect(html).toContain("메시지 입력란으로 건너뛰기");
  expect(html).toContain("이름");

  await page.goto(`/r/${room}`);
  await expect(page.locator("html")).toHaveAttribute("lang", "ko");
  await expect(page).toHaveTitle(`#${room} · Palaver`);
  await expect(page.getByTestId("skip-link")).toHaveText("메시지 입력란으로 건너뛰기");
  await expect(page.getByText("이름", { exact: true })).toBeVisible();
  await page.getByTestId("name-input").fill("민수");
  await page.getByTestId("name-button").click();
  await expect(page.getByTestId("connection-status")).toHaveText("연결됨");
  await expect(page.getByTestId("composer-input")).toHaveAttribute("placeholder", "메시지를 입력하세요…");
  await expect(page.getByTestId("me")).toHaveText(/민수 님으로 대화 중/);
  await expect(page.getByTestId("presence")).toHaveText("1명 접속 중: 민수");

  // A message in Korean: its time reads "오후 3:05" on Seoul's clock, and its day is today.
  const text = unique("회의는 세 시에 합니다");
  await say(page, text);
  const row = page.getByTestId("message").filter({ hasText: text });
  await expect(row).toHaveAttribute("data-state", "sent");
  await expect(page.getByTestId("day-separator")).toHaveText(["오늘"]);
  const { text: shown, iso } = await firstMessageTime(page);
  const { hour, minute, pm } = dial(iso, 9);
  expect(shown).toBe(`${pm ? "오후" : "오전"} ${hour}:${String(minute).padStart(2, "0")}`);
  await expect(row.getByTestId("message-time")).toHaveAttribute("title", /^\d{4}년 \d{1,2}월 \d{1,2}일 [월화수목금토일]요일 오[전후] \d{1,2}:\d\d$/);
  await expect(row.getByTestId("edit-button")).toHaveText("수정");

  // The page told the server its zone: the next page the server renders already has
  // Seoul's time (nothing to correct after hydration).
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === "tz")?.value).toBe("540");
  const again = await (await context.request.get(`/r/${room}`, { headers: { "accept-language": "ko" } })).text();
  expect(again).toContain(`>${shown}</time>`);
  expect(again).toContain(">오늘<");

  // No accessibility problem in Korean either.
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"]).analyze();
  expect(results.violations.map((v) => v.id)).toEqual([]);
  await context.close();
});

test("the language switch is remembered, across reloads and new pages", async ({ browser }) => {
  const context = await browser.newContext(SEOUL);
  const page = await context.newPage();
  const room = uniqueRoom("switch");
  await page.goto(`/r/${room}`);
  await expect(page.getByTestId("skip-link")).toHaveText("메시지 입력란으로 건너뛰기");

  // To English: the same room, every string in English, though the browser prefers Korean.
  await page.getByTestId("language-switch").click();
  await expect(page).toHaveURL(new RegExp(`/r/${room}$`));
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByTestId("skip-link")).toHaveText("Skip to the message box");
  await expect(page.getByTestId("language-switch")).toHaveText("한국어");
  await expect(page.getByTestId("language-switch")).toHaveAttribute("lang", "ko");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  const other = await context.newPage();
  await openChat(other, `/r/${room}`, "Jun");
  await expect(other.getByTestId("me")).toContainText("You are Jun");
  // Times in English on Seoul's clock.
  await say(other, unique("in English"));
  const { text: shown, iso } = await firstMessageTime(other);
  const { hour, minute, pm } = dial(iso, 9);
  expect(shown).toBe(`${hour}:${String(minute).padStart(2, "0")} ${pm ? "PM" : "AM"}`);

  // And back.
  await other.getByTestId("language-switch").click();
  await expect(other.locator("html")).toHaveAttribute("lang", "ko");
  await expect(other.getByTestId("composer-input")).toHaveAttribute("placeholder", "메시지를 입력하세요…");
  await context.close();
});

test("an English browser gets English; an unknown language is refused with a message", async ({ browser }) => {
  const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByTestId("skip-link")).toHaveText("Skip to the message box");
  const refused = await context.request.get("/?lang=fr");
  expect(refused.status()).toBe(400);
  expect(await refused.text()).toContain('unknown language "fr"');
  await context.close();
});

test("a day's name stands above its messages: Today, Yesterday, then the date", async ({ browser }) => {
  const room = uniqueRoom("days");
  const writer = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
  const page = await writer.newPage();
  await openChat(page, `/r/${room}`, "Dee");
  const text = unique("said today");
  await say(page, text);
  await expect(page.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "sent");
  await expect(page.getByTestId("day-separator")).toHaveText(["Today"]);
  const iso = (await page.getByTestId("message-time").first().getAttribute("datetime")) ?? "";

  // The same room read a day later, then three days later (the browser's clock moved on):
  // the server renders its own "Today", and the live page names the day from its clock.
  for (const [days, expected] of [
    [1, "Yesterday"],
    [3, new Date(iso).toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" })],
  ] as const) {
    const later = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
    const reader = await later.newPage();
    await reader.clock.install({ time: Date.now() + days * 24 * HOUR_MS });
    await reader.goto(`/r/${room}`);
    await expect(reader.getByTestId("message")).toHaveCount(1);
    const label = String(expected).replace(/^(\w+) /, "$1, ");
    await expect(reader.getByTestId("day-separator")).toHaveText([label]);
    await later.close();
  }

  // A page left open over midnight: its "Today" becomes "Yesterday".
  const lateContext = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
  const late = await lateContext.newPage();
  const endOfDay = new Date(iso);
  endOfDay.setUTCHours(23, 59, 50, 0);
  await late.clock.install({ time: Math.max(endOfDay.getTime(), Date.parse(iso) + 1000) });
  await late.goto(`/r/${room}`);
  await expect(late.getByTestId("day-separator")).toHaveText(["Today"]);
  await late.clock.fastForward(60_000);
  await expect(late.getByTestId("day-separator")).toHaveText(["Yesterday"]);
  await lateContext.close();
  await writer.close();
});
