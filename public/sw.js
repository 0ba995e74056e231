// Palaver's service worker. A push from the server (see README, "Web Push") is shown as
// a notification: a message's names its room and who wrote it (and its text, where the
// workspace sends it); clicking it opens the room at the message, in a Palaver tab
// already open at that address or a new one.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

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
