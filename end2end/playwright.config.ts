import { defineConfig } from "@playwright/test";
import { freshDataDir, serverBinary, serverEnv, withLifetime } from "./server";

// Palaver's end-to-end tests run against the release build (`cargo leptos build
// --release`), started here on its own port so a running dev server does not clash.
const port = Number(process.env.PALAVER_E2E_PORT ?? 3217);

const chromium = {
  browserName: "chromium" as const,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  },
};

// The whole run, and so the shared server, has a time limit: nothing can hang forever.
const RUN_LIMIT_S = 20 * 60;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  globalTimeout: RUN_LIMIT_S * 1000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    // A trace of each test, kept when it fails, when asked for (`PALAVER_E2E_TRACE=1`):
    // recording them makes the whole run about a fifth slower on two cores.
    trace: process.env.PALAVER_E2E_TRACE ? "retain-on-failure" : "off",
    // Palaver's service worker answers for pages and the app shell once registered;
    // the tests of it allow it (offline.spec.ts, push.spec.ts), the rest see the network
    // as the page does without one, and what they route is what the page gets.
    serviceWorkers: "block",
  },
  projects: [
    // The live chat, hydrated.
    { name: "hydrated", use: { ...chromium }, grepInvert: /@nojs/ },
    // The same pages with JavaScript off: what the server renders on its own.
    { name: "no-js", use: { ...chromium, javaScriptEnabled: false }, grep: /@nojs/ },
  ],
  webServer: {
    // In the foreground, so that Playwright's stopping the command's process group stops it.
    command: withLifetime(RUN_LIMIT_S + 60, serverBinary, { foreground: true }).flat().join(" "),
    url: `http://127.0.0.1:${port}/`,
    env: {
      ...serverEnv(port, process.env.PALAVER_E2E_DATA_DIR ?? (process.env.PALAVER_E2E_DATA_DIR = freshDataDir())),
      // Some tests fill a room with history quickly; tests/limits.spec.ts checks the
      // default rate limit on a server of its own.
      PALAVER_RATE_PER_SEC: "10000",
      PALAVER_RATE_BURST: "10000",
    } as Record<string, string>,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
