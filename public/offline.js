// Palaver's chat pages: registers the service worker (/sw.js), which keeps the app shell
// and the rooms last opened for use offline, and shows pushes while no tab is open.
// Once the person allows notifications ("Enable notifications"), this browser is also
// subscribed to pushes (as Settings does, public/push.js): the browser's subscription,
// made with the server's key (/push/key), is handed to the server (/push/subscriptions).
(() => {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  const registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });
  registered.catch(() => {});
  if (!("PushManager" in window) || !("Notification" in window) || !navigator.permissions) return;
  const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

  async function subscribe() {
    const registration = await registered;
    if (await registration.pushManager.getSubscription()) return;
    const answer = await fetch("/push/key", { credentials: "same-origin" });
    if (!answer.ok) return;
    const { key } = await answer.json();
    const made = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
    await fetch("/push/subscriptions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(made.toJSON()),
      credentials: "same-origin",
    });
  }

  // Only when permission is given here and now: someone who turned pushes off in
  // Settings keeps them off on every later page.
  navigator.permissions
    .query({ name: "notifications" })
    .then((permission) => {
      permission.addEventListener("change", () => {
        if (permission.state === "granted") subscribe().catch((e) => console.warn("palaver: no pushes:", e.message));
      });
    })
    .catch(() => {});
})();
