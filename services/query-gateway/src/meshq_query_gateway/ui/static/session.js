// Who the session stands for, and the ways of signing in this gateway offers: shared by the
// UI's pages (GET /ui/session). Nothing from an answer is inserted as HTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function describe(me) {
    const how = me.method === "oidc" ? "single sign-on" : "API key";
    let roles;
    if (me.roles.length) roles = `roles: ${me.roles.join(", ")}`;
    else if (me.rbac) roles = "no role grants you anything here";
    else roles = "no RBAC policy: what the plan allows";
    return `Signed in as ${me.name} (${how}; ${roles})`;
  }

  async function load() {
    const response = await fetch("/ui/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const me = await response.json();
    const offers = me.sign_in || {};
    if ($("signin-key")) $("signin-key").hidden = !offers.api_key;
    if ($("signin-oidc")) $("signin-oidc").hidden = !offers.oidc;
    if ($("signin-link")) $("signin-link").hidden = !offers.link;
    if (me.signed_in) {
      $("whoami").textContent = describe(me);
      $("signout").hidden = false;
    }
    if (me.problem) {
      $("session-problem").textContent = me.problem;
      $("session-problem").hidden = false;
    }
    return me;
  }

  window.meshqSession = new Promise((resolve) => {
    document.addEventListener("DOMContentLoaded", () => load().then(resolve, () => resolve(null)));
  });
})();
