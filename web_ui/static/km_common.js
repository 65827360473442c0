// Shared helpers of the knowledge managers' console. Every text from the knowledge base or a
// user is set with textContent (el()), never parsed as HTML.

export const $ = (sel) => document.querySelector(sel);

export const STATUS_LABELS = { draft: "草稿", in_review: "审核中", published: "已发布", retired: "已下线" };
export const EXPIRY_LABELS = { expired: "已过期", expiring: "即将到期", not_yet_effective: "未生效" };

/** An element with properties (class, text, dataset, attributes, on* listeners) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function tag(kind, text) {
  return el("span", { class: `tag ${kind}`, text, dataset: { tag: kind } });
}

export function statusTag(status) {
  return tag(status, STATUS_LABELS[status] || status);
}

function errorText(body, status) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (d && typeof d === "object" && !Array.isArray(d) && d.message) return d.message;
  if (Array.isArray(d)) {
    return d.map((e) => `${(e.loc || []).filter((x) => x !== "body").join(".")}：${e.msg}`).join("；");
  }
  if (status === 413) return "文件太大";
  return `请求失败（HTTP ${status}）`;
}

/** JSON (or FormData) in, JSON out; a failure throws an Error with .status and .detail. */
export async function api(method, path, body) {
  const form = body instanceof FormData;
  const r = await fetch(path, {
    method,
    headers: body && !form ? { "Content-Type": "application/json" } : {},
    body: body ? (form ? body : JSON.stringify(body)) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const e = new Error(errorText(data, r.status));
    e.status = r.status;
    e.detail = data && data.detail;
    throw e;
  }
  return data;
}

export function say(text, isError = false) {
  const s = $("#status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

export function setMsg(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle("error", isError);
}

let me = null; // the signed-in account (session.js), once known

/** The signed-in username ("" until known). Every write is made as this account. */
export function currentActor() {
  return me ? me.username : "";
}

/** Whether the signed-in account has one of the roles (administrators have all). */
export function hasRole(...roles) {
  return !!me && (me.roles.includes("admin") || roles.some((r) => me.roles.includes(r)));
}

/** The signed-in username, or null (with a message) while it is not known. */
export function requireActor() {
  if (!me) {
    say("正在确认登录状态，请稍候再试", true);
    return null;
  }
  return me.username;
}

/** Call onChange once the signed-in account is known. */
export function initActor(onChange) {
  window.copilotMe.then((m) => {
    me = m;
    onChange();
  });
}

export function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function isoDay(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}`;
}

/** Fill a <select> with options [{value, text}] after its first (blank) option. */
export function fillSelect(select, options, keepFirst = true) {
  const first = keepFirst ? select.options[0] : null;
  select.replaceChildren(...(first ? [first] : []),
    ...options.map((o) => el("option", { value: o.value, text: o.text })));
}

/** Depth-first list of the taxonomy tree: [{code, name, level, path, description}]. */
export function flattenTree(nodes, path = [], out = []) {
  for (const n of nodes) {
    const p = [...path, n.name];
    out.push({ code: n.code, name: n.name, level: n.level, path: p, description: n.description });
    flattenTree(n.children || [], p, out);
  }
  return out;
}
