// Administrators: accounts (create, roles, switch off/on, reset a password) and the audit log.

const $ = (s) => document.querySelector(s);
const ROLES = [["operator", "话务员"], ["knowledge_manager", "知识管理员"], ["reviewer", "审核员"],
               ["admin", "管理员"]];
const ROLE_NAME = Object.fromEntries(ROLES);
const ACTIONS = {
  "auth.login": "登录", "auth.password": "修改密码", "ticket.view": "查看工单", "ticket.list": "查询工单",
  "ticket.change": "办理工单", "call.view": "查看通话", "knowledge.change": "修改知识库",
  "knowledge.export": "导出知识库", "account.change": "管理账号", "audit.view": "查看审计日志",
};
const OUTCOMES = { ok: "成功", denied: "拒绝", failed: "失败" };

function say(text, isError = false) {
  $("#status").textContent = text;
  $("#status").classList.toggle("error", isError);
}

async function api(method, url, body) {
  const r = await fetch(url, { method, headers: body ? { "Content-Type": "application/json" } : {},
                               body: body ? JSON.stringify(body) : undefined });
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const d = data && data.detail;
    throw new Error(typeof d === "string" ? d : Array.isArray(d) ? d.map((x) => x.msg).join("；")
      : `请求失败（${r.status}）`);
  }
  return data;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (cls) td.className = cls;
  return td;
}

function button(text, onClick, cls = "secondary") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function localTime(iso) {
  return iso ? new Date(`${iso}Z`).toLocaleString("zh-CN", { hour12: false }) : "";
}

function roleBoxes(container, chosen, prefix) {
  container.replaceChildren(...ROLES.map(([value, name]) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = value;
    box.checked = chosen.includes(value);
    box.dataset.testid = `${prefix}-${value}`;
    label.append(box, ` ${name}`);
    return label;
  }));
}

function checked(container) {
  return [...container.querySelectorAll("input:checked")].map((b) => b.value);
}

async function change(username, body, done) {
  try {
    await api("PATCH", `/api/v1/auth/users/${encodeURIComponent(username)}`, body);
    say(done);
    await loadUsers();
    await loadAudit();
  } catch (e) {
    say(e.message, true);
  }
}

function userRow(u) {
  const tr = document.createElement("tr");
  tr.dataset.username = u.username;
  tr.dataset.testid = "user-row";
  if (!u.active) tr.className = "off";
  const roles = document.createElement("td");
  const boxes = document.createElement("fieldset");
  boxes.className = "roles";
  roleBoxes(boxes, u.roles, `role-${u.username}`);
  roles.append(boxes, button("保存角色", () => {
    const chosen = checked(boxes);
    if (!chosen.length) { say("至少选择一个角色", true); return; }
    change(u.username, { roles: chosen }, `已更新 ${u.username} 的角色`);
  }));
  const state = [u.active ? "启用" : "已停用", u.locked ? "（临时锁定）" : "",
                 u.must_change_password ? "（待改初始密码）" : ""].join("");
  const actions = document.createElement("td");
  actions.append(
    button(u.active ? "停用" : "启用",
      () => change(u.username, { active: !u.active }, `${u.username} 已${u.active ? "停用" : "启用"}`)),
    " ",
    button("重置密码", () => {
      const pw = prompt(`为 ${u.username} 设置新的初始密码（至少 8 位，对方登录后须修改）`);
      if (pw) change(u.username, { password: pw }, `已重置 ${u.username} 的密码`);
    }),
  );
  tr.append(cell(u.username), cell(u.display_name), roles, cell(state), cell(localTime(u.last_login_at)),
            actions);
  return tr;
}

async function loadUsers() {
  const users = await api("GET", "/api/v1/auth/users");
  $("#user-rows").replaceChildren(...users.map(userRow));
}

async function loadAudit() {
  const params = new URLSearchParams({ limit: "200" });
  for (const [id, key] of [["#a-actor", "actor"], ["#a-action", "action"], ["#a-target", "target"]]) {
    const v = $(id).value.trim();
    if (v) params.set(key, v);
  }
  const page = await api("GET", `/api/v1/auth/audit?${params}`);
  $("#audit-total").textContent = `共 ${page.total} 条${page.total > page.entries.length ? `，显示最近 ${page.entries.length} 条` : ""}`;
  $("#audit-rows").replaceChildren(...page.entries.map((e) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "audit-row";
    tr.append(cell(localTime(e.at)), cell(e.actor), cell(ACTIONS[e.action] || e.action),
              cell(e.target, "target"), cell(OUTCOMES[e.outcome] || e.outcome, `outcome-${e.outcome}`),
              cell(e.detail), cell(e.client));
    return tr;
  }));
}

$("#new-user").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const roles = checked($("#nu-roles"));
  if (!roles.length) { say("请为新账号选择至少一个角色", true); return; }
  try {
    const u = await api("POST", "/api/v1/auth/users", {
      username: $("#nu-username").value.trim(), display_name: $("#nu-name").value.trim(),
      roles, password: $("#nu-password").value });
    say(`已新建账号 ${u.username}（${u.roles.map((r) => ROLE_NAME[r]).join("、")}）`);
    ev.target.reset();
    roleBoxes($("#nu-roles"), [], "nu-role");
    await loadUsers();
    await loadAudit();
  } catch (e) {
    say(e.message, true);
  }
});

$("#audit-filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadAudit().catch((e) => say(e.message, true));
});

async function start() {
  roleBoxes($("#nu-roles"), [], "nu-role");
  try {
    await loadUsers();
    await loadAudit();
  } catch (e) {
    say(e.message, true);
  }
  document.body.dataset.ready = "1";
}

start();
