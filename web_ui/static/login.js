// Staff login: POST /api/v1/auth/login sets the session cookie; a first password must be
// changed before going on. Afterwards the browser goes to ?next= (a path on this site only).

const $ = (s) => document.querySelector(s);
let signedIn = null; // {username, password} kept only until the first password is changed

function nextPage(roles) {
  const wanted = new URLSearchParams(location.search).get("next") || "";
  if (wanted.startsWith("/") && !wanted.startsWith("//") && !wanted.startsWith("/login")) {
    return wanted;
  }
  if (roles.includes("operator")) return "/console";
  if (roles.includes("knowledge_manager") || roles.includes("reviewer")) return "/km";
  if (roles.includes("admin")) return "/admin";
  return "/";
}

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify(body) });
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const detail = data && data.detail;
    const text = typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map((d) => d.msg).join("；") : `出错了（${r.status}）`;
    throw new Error(text);
  }
  return data;
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const username = $("#username").value.trim();
  const password = $("#password").value;
  $("#login-msg").textContent = "";
  try {
    const me = await post("/api/v1/auth/login", { username, password });
    if (me.must_change_password) {
      signedIn = { username, password };
      $("#login-form").hidden = true;
      $("#change-form").hidden = false;
      $("#new-password").focus();
      return;
    }
    location.assign(nextPage(me.roles));
  } catch (e) {
    $("#login-msg").textContent = e.message;
    $("#password").select();
  }
});

$("#change-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const fresh = $("#new-password").value;
  $("#change-msg").textContent = "";
  if (fresh !== $("#new-password2").value) {
    $("#change-msg").textContent = "两次输入的新密码不一致";
    return;
  }
  try {
    await post("/api/v1/auth/password", { old_password: signedIn.password, new_password: fresh });
    const me = await post("/api/v1/auth/login", { username: signedIn.username, password: fresh });
    signedIn = null;
    location.assign(nextPage(me.roles));
  } catch (e) {
    $("#change-msg").textContent = e.message;
  }
});
