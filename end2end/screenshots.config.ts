import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The README's screenshots (scripts/screenshots.sh): the same server and browser as the
// end-to-end tests, a conversation staged from outside, pictures written to
// docs/screenshots/.
export default defineConfig({
  ...base,
  testDir: "./screenshots",
  projects: [{ name: "screenshots", use: base.projects![0].use }],
});
