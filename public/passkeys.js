// Passkeys on Palaver's account pages: the browser's WebAuthn calls around the
// server's two-step ceremonies (/passkeys/...). The pages are plain forms without it;
// where the browser has passkeys, this shows "Add a passkey" (settings) and "Sign in
// with a passkey" (sign-in) and carries them out.
(() => {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const base64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

  async function post(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const said = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(said.error || answer.statusText);
    return said;
  }

  function tell(text) {
    const status = document.getElementById("passkey-status");
    status.textContent = text;
    status.hidden = !text;
  }

  // The browser said no (cancelled, timed out, no passkey here): nothing to report but that.
  const declined = (e) => e && (e.name === "NotAllowedError" || e.name === "AbortError");

  async function add(button) {
    tell("");
    button.disabled = true;
    try {
      const { id, options } = await post("/passkeys/add/begin", {});
      const key = options.publicKey;
      key.challenge = bytes(key.challenge);
      key.user.id = bytes(key.user.id);
      for (const c of key.excludeCredentials || []) c.id = bytes(c.id);
      // Kept on the authenticator (discoverable), so that it can sign in with no handle typed.
      key.authenticatorSelection = { ...key.authenticatorSelection, residentKey: "required", requireResidentKey: true };
      const made = await navigator.credentials.create({ publicKey: key });
      const credential = {
        id: made.id,
        rawId: base64url(made.rawId),
        type: made.type,
        response: {
          attestationObject: base64url(made.response.attestationObject),
          clientDataJSON: base64url(made.response.clientDataJSON),
        },
        extensions: made.getClientExtensionResults(),
      };
      const label = document.getElementById("passkey-name").value;
      await post("/passkeys/add/finish", { id, label, credential });
      location.reload();
    } catch (e) {
      if (!declined(e)) tell(e.message);
    } finally {
      button.disabled = false;
    }
  }

  async function signIn(button) {
    tell("");
    button.disabled = true;
    try {
      const { id, options } = await post("/passkeys/sign-in/begin", {});
      const key = options.publicKey;
      key.challenge = bytes(key.challenge);
      for (const c of key.allowCredentials || []) c.id = bytes(c.id);
      // Asked for at a click: the browser's own dialog, not the form's autofill.
      const got = await navigator.credentials.get({ publicKey: key });
      const credential = {
        id: got.id,
        rawId: base64url(got.rawId),
        type: got.type,
        response: {
          authenticatorData: base64url(got.response.authenticatorData),
          clientDataJSON: base64url(got.response.clientDataJSON),
          signature: base64url(got.response.signature),
          userHandle: got.response.userHandle ? base64url(got.response.userHandle) : null,
        },
        extensions: got.getClientExtensionResults(),
      };
      const { to } = await post("/passkeys/sign-in/finish", { id, credential });
      location.assign(to);
    } catch (e) {
      if (!declined(e)) tell(e.message);
    } finally {
      button.disabled = false;
    }
  }

  for (const [id, run] of [["add-passkey", add], ["passkey-sign-in", signIn]]) {
    const button = document.getElementById(id);
    if (!button) continue;
    document.getElementById("passkey-area").hidden = false;
    button.addEventListener("click", () => run(button));
  }
})();
