"use strict";
const $ = (sel) => document.querySelector(sel);

async function loadHealth() {
  try {
    const r = await fetch("/api/v1/health");
    const h = await r.json();
    $("#health").textContent = `知识库版本 ${h.kb_revision} · 已发布答复 ${h.answers_indexed} 条`;
  } catch (e) {
    $("#health").textContent = "服务未连接";
  }
}

async function loadCategories() {
  const r = await fetch("/api/v1/kb/categories");
  if (!r.ok) return;
  for (const node of await r.json()) {
    const opt = document.createElement("option");
    opt.value = node.code;
    opt.textContent = `${node.code} ${node.name}`;
    $("#category").appendChild(opt);
  }
}

async function search(ev) {
  ev.preventDefault();
  const q = $("#q").value.trim();
  if (!q) return;
  const body = { query: q, top_k: 5 };
  const cat = $("#category").value;
  if (cat) body.category = cat;
  $("#status").textContent = "检索中…";
  $("#status").classList.remove("error");
  const r = await fetch("/api/v1/kb/search", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await r.json();
  const list = $("#results");
  list.replaceChildren();
  if (!r.ok) {
    $("#status").textContent = typeof data.detail === "string" ? data.detail : "请求有误";
    $("#status").classList.add("error");
    return;
  }
  $("#status").textContent = data.results.length
    ? `找到 ${data.results.length} 条答复口径（${data.took_ms} 毫秒）`
    : "知识库中没有找到相关答复口径";
  for (const hit of data.results) {
    const node = $("#result-tpl").content.cloneNode(true);
    node.querySelector(".title").textContent = hit.title;
    node.querySelector(".score").textContent = `相关度 ${hit.score.toFixed(3)}`;
    node.querySelector(".meta").textContent =
      `${hit.id} · 第 ${hit.version} 版 · ${hit.category_path.join(" / ") || "未分类"}` +
      (hit.source ? ` · 依据：${hit.source}` : "");
    node.querySelector(".answer").textContent = hit.answer;
    node.querySelector(".unit").textContent =
      `承办单位：${hit.unit || "未指定"}${hit.unit_phone ? "（" + hit.unit_phone + "）" : ""}`;
    node.querySelector(".copy").addEventListener("click", () => navigator.clipboard.writeText(hit.answer));
    list.appendChild(node);
  }
}

$("#search-form").addEventListener("submit", search);
loadHealth();
loadCategories();
