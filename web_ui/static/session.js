// The signed-in person, for the staff pages (console, knowledge managers, search, admin).
// Shows who is signed in and a 退出 button in the element marked data-session, and sends the
// browser to the login page whenever an API answers 401 (the session ended or expired).
// `window.copilotMe` resolves to {username, display_name, roles, role_names}.

(() => {
  const realFetch = window.fetch.bind(window);

  function toLogin() {
    const here = location.pathname + location.search;
    location.assign(`/login?next=${encodeURIComponent(here)}`);
  }

  window.fetch = async (...args) => {
    const response = await realFetch(...args);
    const url = String(args[0] instanceof Request ? args[0].url : args[0]);
    if (response.status === 401 && url.includes("/api/v1/") && !url.includes("/auth/login")) {
      toLogin();
    }
    return response;
  };

  function render(me) {
    const slot = document.querySelector("[data-session]");
    if (!slot || !me) return;
    slot.textContent = "";
    const who = document.createElement("span");
    who.className = "who";
    who.dataset.testid = "signed-in";
    who.textContent = `${me.display_name}（${me.role_names.join("、")}）`;
    who.title = `登录账号：${me.username}`;
    const out = document.createElement("button");
    out.type = "button";
    out.className = "logout";
    out.dataset.testid = "logout";
    out.textContent = "退出";
    out.addEventListener("click", async () => {
      await realFetch("/api/v1/auth/logout", { method: "POST" });
      location.assign("/login");
    });
    slot.append(who, out);
  }

  window.copilotMe = realFetch("/api/v1/auth/me")
    .then((r) => (r.ok ? r.json() : null))
    .then((me) => {
      if (!me) toLogin();
      render(me);
      return me;
    })
    .catch(() => null);
})();
