// Progressive enhancement only: every action also works without this script.
// - Buttons with data-dialog open that <dialog> instead of navigating to the confirmation page.
// - Buttons with data-copy copy the text of the element with that id.
// - data-close-dialog links close their dialog instead of navigating.
(function () {
  "use strict";

  function selectAll(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener && !opener.disabled) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var confirm = dialog.querySelector("button[type=submit]");
        if (confirm) { confirm.focus(); }
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    var copier = event.target.closest("[data-copy]");
    if (copier) {
      var source = document.getElementById(copier.getAttribute("data-copy"));
      if (!source) { return; }
      var text = source.textContent.trim();
      selectAll(source);
      var done = function () { copier.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
      return;
    }
    var selectable = event.target.closest(".selectable");
    if (selectable) { selectAll(selectable); }
  });
})();

// Passkeys: a form marked data-passkey asks its data-options URL for a WebAuthn challenge, lets
// the browser talk to the authenticator, and posts the answer in its hidden fields.
(function () {
  "use strict";
  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function answer(credential) {
    var r = credential.response;
    var response = r.attestationObject
      ? { attestationObject: toText(r.attestationObject), clientDataJSON: toText(r.clientDataJSON) }
      : {
          authenticatorData: toText(r.authenticatorData),
          clientDataJSON: toText(r.clientDataJSON),
          signature: toText(r.signature),
          userHandle: r.userHandle ? toText(r.userHandle) : null
        };
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-passkey]");
    if (!form) { return; }
    event.preventDefault();
    var error = form.querySelector("[data-passkey-error]");
    var fail = function (message) {
      if (error) { error.textContent = message; error.hidden = false; }
    };
    if (!window.PublicKeyCredential) { fail("This browser does not support passkeys."); return; }
    var emailFrom = form.getAttribute("data-email-from");
    if (emailFrom) { form.elements.email.value = document.getElementById(emailFrom).value; }
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (response) {
      if (response.redirected) { window.location = response.url; return null; }
      if (!response.ok) { throw new Error("Passkeys are not available right now."); }
      return response.json();
    }).then(function (started) {
      if (!started) { return null; }
      var options = started.options.publicKey;
      options.challenge = toBytes(options.challenge);
      (options.allowCredentials || []).concat(options.excludeCredentials || []).forEach(function (c) {
        c.id = toBytes(c.id);
      });
      var ceremony;
      if (form.getAttribute("data-passkey") === "register") {
        options.user.id = toBytes(options.user.id);
        ceremony = navigator.credentials.create({ publicKey: options });
      } else {
        ceremony = navigator.credentials.get({ publicKey: options });
      }
      return ceremony.then(function (credential) {
        form.elements.handle.value = started.handle;
        form.elements.credential.value = answer(credential);
        form.submit();
      });
    }).catch(function (e) { fail(e && e.message ? e.message : "The passkey did not answer."); });
  });
})();
