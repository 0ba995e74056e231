// How the end-to-end tests start Palaver's release server, and reach into its data
// directory. Every process started here has a lifetime limit, so none outlives a run that
// went wrong.
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..");

export const serverBinary = path.join(root, "target/release/server");

/**
 * `command` run under coreutils' `timeout`, killed after `seconds` whatever happens to
 * the process that started it. `timeout` passes SIGTERM on to the command, and puts
 * itself and the command in a process group of their own (`process.kill(-pid)` ends
 * both) unless `foreground` (then they stay in their starter's group).
 */
export function withLifetime(
  seconds: number,
  command: string,
  { foreground = false } = {},
  ...args: string[]
): [string, string[]] {
  return ["timeout", [...(foreground ? ["--foreground"] : []), "--kill-after=5", String(seconds), command, ...args]];
}

/** Longest a server started by a test may live (a test itself times out far sooner). */
const SERVER_LIFETIME_S = 300;

/** A fresh, empty data directory for one server run. */
export function freshDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "palaver-e2e-"));
}

export function serverEnv(port: number, dataDir: string): NodeJS.ProcessEnv {
  return {
    PALAVER_DATA_DIR: dataDir,
    LEPTOS_SITE_ROOT: path.join(root, "target/site"),
    LEPTOS_SITE_PKG_DIR: "pkg",
    LEPTOS_OUTPUT_NAME: "palaver",
    LEPTOS_ENV: "PROD",
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    // Every browser page in the tests comes from 127.0.0.1: as many people as the tests
    // open, not one person's share.
    PALAVER_MAX_CONNECTIONS_PER_IP: "10000",
    PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC: "10000",
    PALAVER_NEW_CONNECTIONS_PER_IP_BURST: "10000",
    PALAVER_MAX_HTTP_CONNECTIONS_PER_IP: "10000",
    PALAVER_PAGES_PER_IP_PER_SEC: "10000",
    PALAVER_PAGES_PER_IP_BURST: "10000",
  };
}

/**
 * Starts a server of its own on `port` (with `extra` settings, such as a shared
 * database's) and resolves once it answers HTTP. With `onLine`, each line of its log
 * goes there too.
 */
export async function startServer(
  port: number,
  dataDir: string,
  extra: NodeJS.ProcessEnv = {},
  onLine?: (line: string) => void,
): Promise<ChildProcess> {
  const [command, args] = withLifetime(SERVER_LIFETIME_S, serverBinary);
  const env = { ...process.env, ...serverEnv(port, dataDir), ...extra };
  const child = spawn(command, args, { env, stdio: ["ignore", onLine ? "pipe" : "inherit", "inherit"] });
  if (onLine) {
    let rest = "";
    child.stdout!.on("data", (d) => {
      const lines = (rest + d).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        process.stdout.write(line + "\n");
        onLine(line);
      }
    });
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(-child.pid!, "SIGKILL");
  throw new Error(`server on port ${port} did not start`);
}

/**
 * Stops a server with SIGTERM, as a service manager would, and waits for it to exit;
 * after 10 s (twice its shutdown grace), kills it (and its `timeout`).
 */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(killer);
}

/** The data directory of the server that playwright.config.ts starts for every test. */
export function sharedDataDir(): string {
  const dir = process.env.PALAVER_E2E_DATA_DIR;
  if (!dir || !fs.existsSync(path.join(dir, "palaver.db"))) {
    throw new Error(`no shared server database in PALAVER_E2E_DATA_DIR (${dir})`);
  }
  return dir;
}

/**
 * Holds the write lock of the message database in `dataDir` from another process (the
 * `sqlite3` shell), as a stuck backup or a full disk would: the server's commits wait
 * out its busy timeout and fail. Resolves once the lock is held.
 */
export async function lockStore(dataDir: string): Promise<{ release: () => Promise<void> }> {
  const [command, args] = withLifetime(60, "sqlite3", {}, "-batch", path.join(dataDir, "palaver.db"));
  const shell = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((r) => shell.once("exit", r));
  let timer: NodeJS.Timeout | undefined;
  const locked = new Promise<void>((held, failed) => {
    let out = "";
    shell.stdout!.on("data", (d) => (out += d).includes("locked") && held());
    shell.once("error", failed);
    shell.once("exit", (code) => failed(new Error(`sqlite3 exited (${code}) before taking the lock: ${out}`)));
    timer = setTimeout(() => failed(new Error("sqlite3 did not take the lock within 10 s")), 10_000);
  });
  shell.stdin!.write(".timeout 5000\nBEGIN IMMEDIATE;\nSELECT 'locked';\n");
  try {
    await locked;
  } catch (e) {
    shell.stdin!.end();
    shell.kill("SIGTERM");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    release: async () => {
      shell.stdin!.end("ROLLBACK;\n");
      await exited;
    },
  };
}
