// Web Push on Palaver's settings page: registers the service worker (/sw.js) and turns
// notifications to this browser on and off: the browser's subscription, made with the
// server's key (/push/key), is handed to the server (/push/subscriptions), and taken
// back when turned off. "Send a test notification" asks the server for one (/push/test).
(() => {
  "use strict";
  const area = document.getElementById("push-area");
  if (!area || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const words = area.dataset;
  const state = document.getElementById("push-state");
  const toggle = document.getElementById("push-toggle");
  const test = document.getElementById("push-test");
  const status = document.getElementById("push-status");
  const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

  function tell(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  async function call(method, path, body) {
    const answer = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!answer.ok) throw new Error((await answer.text()).trim() || answer.statusText);
    return answer;
  }

  const registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });

  async function show() {
    const registration = await registered;
    const subscription = await registration.pushManager.getSubscription();
    state.textContent = subscription ? words.on : words.off;
    toggle.textContent = subscription ? words.turnOff : words.turnOn;
    toggle.hidden = false;
    test.hidden = !subscription;
    return subscription;
  }

  toggle.addEventListener("click", async () => {
    tell("");
    toggle.disabled = true;
    try {
      const registration = await registered;
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await call("DELETE", "/push/subscriptions", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      } else if ((await Notification.requestPermission()) !== "granted") {
        tell(words.denied);
      } else {
        const { key } = await (await call("GET", "/push/key")).json();
        const made = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
        await call("POST", "/push/subscriptions", made.toJSON());
      }
    } catch (e) {
      tell(e.message);
    }
    toggle.disabled = false;
    await show().catch((e) => tell(e.message));
  });

  test.addEventListener("click", async () => {
    tell("");
    try {
      const { sent } = await (await call("POST", "/push/test")).json();
      tell(words.sent.replace("{count}", sent));
    } catch (e) {
      tell(e.message);
    }
  });

  show().catch((e) => tell(e.message));
})();
