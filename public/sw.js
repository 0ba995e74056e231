// Palaver's service worker. The server writes VERSION and SHELL in front of this file
// (server/src/worker.rs): a hash of this build, and the addresses of its app shell (the
// page's script, style and WebAssembly, the icons and the manifest).
//
// Offline: the shell is kept in a cache of this version, and the chat pages last opened
// (the lobby and up to PAGES_KEPT rooms, each with its recent messages as the server
// rendered them) in another. Online, pages and shell always come from the network (a
// page refreshing its kept copy), so a deploy is never hidden behind an old copy; without a network
// the kept copies answer. A new version is a new worker: it fetches its shell, takes over
// at once (the next page loaded is the new one's), and drops every cache of other
// versions. Signing out forgets the kept pages.
//
// Push: a push from the server (see README, "Web Push") is shown as a notification: a
// message's names its room and who wrote it (and its text, where the workspace sends
// it); clicking it opens the room at the message, in a Palaver tab already open at that
// address or a new one.
"use strict";

const SHELL_CACHE = `palaver-shell-${VERSION}`;
const PAGES_CACHE = `palaver-pages-${VERSION}`;
const PAGES_KEPT = 20;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const shell = await caches.open(SHELL_CACHE);
      await shell.addAll(SHELL.map((address) => new Request(address, { cache: "no-cache" })));
      // The pages kept by the version before, fetched again for this one.
      const pages = await caches.open(PAGES_CACHE);
      for (const name of await caches.keys()) {
        if (!name.startsWith("palaver-pages-") || name === PAGES_CACHE) continue;
        for (const request of await (await caches.open(name)).keys()) {
          await keep(pages, request.url).catch(() => {});
        }
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("palaver-") && name !== SHELL_CACHE && name !== PAGES_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

/** Whether a page address is one kept for offline: the lobby or a room. */
function kept(url) {
  return url.origin === self.location.origin && (url.pathname === "/" || url.pathname.startsWith("/r/"));
}

/** Fetches a chat page and keeps it (by its path, without the query), the newest last. */
async function keep(pages, address, request) {
  const url = new URL(address);
  const response = await fetch(request || new Request(url.href, { credentials: "same-origin" }));
  if (kept(url) && response.ok && response.type === "basic") {
    const key = url.origin + url.pathname;
    await pages.delete(key);
    await pages.put(key, response.clone());
    const all = await pages.keys();
    for (const old of all.slice(0, Math.max(0, all.length - PAGES_KEPT))) await pages.delete(old);
  }
  return response;
}

/** A page: from the network (and kept), else the kept copy, else a page that says why. */
async function page(event) {
  const url = new URL(event.request.url);
  const pages = await caches.open(PAGES_CACHE);
  try {
    return await keep(pages, url.href, event.request);
  } catch (offline) {
    const copy = kept(url) && (await pages.match(url.origin + url.pathname));
    if (copy) return copy;
    return new Response(
      "<!DOCTYPE html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
        "<title>Offline · Palaver</title><p>You are offline, and this page was not opened here before. " +
        "It opens once the network is back.</p>",
      { status: 503, headers: { "content-type": "text/html; charset=utf-8" } },
    );
  }
}

/**
 * A file of the shell: from the network (the browser's own cache rules apply), else this
 * version's copy. That copy, fetched at install, is already this version's file (the
 * version is a hash of them), so what comes from the network is not written again.
 */
async function shellFile(request) {
  try {
    return await fetch(request);
  } catch (offline) {
    const copy = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
    if (copy) return copy;
    throw offline;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && (url.pathname === "/sign-out" || url.pathname === "/session/end")) {
    // Signing out: what this browser kept of the person's pages goes too.
    event.waitUntil(caches.delete(PAGES_CACHE));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});

/** What a push's JSON says, as a notification's title and options. */
function shown(said) {
  const icon = "/icon-192.png";
  if (said.type === "message" && typeof said.room === "string" && Number.isSafeInteger(said.seq)) {
    const room = encodeURIComponent(said.room);
    return {
      title: `${said.from || "Someone"} in #${said.room}`,
      options: {
        body: said.text || "New message",
        icon,
        tag: `palaver-${said.room}`,
        renotify: true,
        data: { url: `/r/${room}?at=${said.seq}#m-${said.seq}` },
      },
    };
  }
  return { title: "Palaver", options: { body: said.text || "", icon, data: { url: "/" } } };
}

self.addEventListener("push", (event) => {
  let said = {};
  try {
    said = event.data ? event.data.json() : {};
  } catch (_) {
    said = { text: event.data ? event.data.text() : "" };
  }
  const { title, options } = shown(said);
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = tabs.find((tab) => tab.url === url);
      if (open) return open.focus();
      return self.clients.openWindow(url);
    })(),
  );
});
