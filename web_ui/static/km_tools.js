// The console's other tabs: 紧急口径, 导入导出 (with the per-row error report), 分类与承办单位,
// and 知识缺口 (the gap report with 起草答复 buttons). initTools() wires them and returns the
// loaders to run when a tab is opened.
import { $, api, el, isoDay, lines, localTime, requireActor, say, setMsg, STATUS_LABELS } from "/static/km_common.js";

const KM = "/api/v1/km";
let app = null;  // {state, loadLookups, loadList, openDraft} from km.js

// ---- 紧急口径 --------------------------------------------------------------------------------

function initUrgent() {
  const today = new Date();
  const max = new Date(today.getTime() + 30 * 86400000);
  const week = new Date(today.getTime() + 7 * 86400000);
  const expires = $("#u-expires");
  expires.min = isoDay(new Date(today.getTime() + 86400000));
  expires.max = isoDay(max);
  expires.value = isoDay(week);
  $("#urgent-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const actor = requireActor();
    if (!actor) return;
    const msg = $("#urgent-msg");
    const body = {
      reviewer: $("#u-reviewer").value.trim(), reviewer_password: $("#u-reviewer-pw").value,
      title: $("#u-title").value.trim(),
      questions: lines($("#u-questions").value), answer: $("#u-answer").value.trim(),
      category_code: $("#u-category").value || null, unit_name: $("#u-unit").value || null,
      source: $("#u-source").value.trim(), expires_on: expires.value || null,
    };
    if (!body.answer || !body.expires_on || !body.reviewer || !body.reviewer_password) {
      setMsg(msg, "请填写答复口径、失效日期，并由审核人输入账号和密码", true);
      return;
    }
    $("#u-reviewer-pw").value = "";  // the reviewer's password is used once, never kept
    try {
      const d = await api("POST", `${KM}/answers/urgent`, body);
      setMsg(msg, `已发布 ${d.id}，${d.expires_on} 起自动下线`);
      say(`紧急口径 ${d.id} 已发布（撰写：${actor}，审核：${body.reviewer}）`);
      for (const id of ["#u-title", "#u-questions", "#u-answer", "#u-source"]) $(id).value = "";
      app.loadList();
    } catch (e) {
      setMsg(msg, e.message, true);
    }
  });
}

// ---- 导入导出 --------------------------------------------------------------------------------

function problemsTable(problems) {
  return el("table", { class: "problems", dataset: { testid: "import-problems" } },
    el("thead", {}, el("tr", {}, el("th", { text: "行号" }), el("th", { text: "问题" }))),
    el("tbody", {}, problems.map((p) => el("tr", {},
      el("td", { text: `第 ${p.line} 行` }), el("td", { text: p.message })))));
}

function initImport() {
  $("#import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const actor = requireActor();
    if (!actor) return;
    const out = $("#import-result");
    const file = $("#import-file").files[0];
    if (!file) {
      out.replaceChildren(el("p", { class: "error", text: "请选择要导入的文件" }));
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    out.replaceChildren(el("p", { class: "muted", text: `正在导入 ${file.name}…` }));
    try {
      const r = await api("POST", `${KM}/import/${$("#import-kind").value}`, form);
      const s = r.summary;
      out.replaceChildren(el("p", { class: "msg", text:
        `${r.filename} 导入成功：共 ${s.rows} 行，新增 ${s.created}，更新 ${s.updated}，未变 ${s.unchanged}` }));
      if (s.created_units && s.created_units.length) {
        out.append(el("p", { class: "muted", text: `新建承办单位：${s.created_units.join("、")}` }));
      }
      if (s.created_categories && s.created_categories.length) {
        out.append(el("p", { class: "muted", text: `新建分类：${s.created_categories.join("、")}` }));
      }
      app.loadLookups();
      app.loadList();
    } catch (e) {
      out.replaceChildren(el("p", { class: "error", text: e.message }));
      if (e.detail && Array.isArray(e.detail.problems)) out.append(problemsTable(e.detail.problems));
    }
  });
}

// ---- 分类与承办单位 --------------------------------------------------------------------------

let selectedCat = null;
let addUnder = null;

function treeNode(node) {
  const children = node.children || [];
  const sub = children.length ? el("ul", { hidden: node.level >= 1 }, children.map(treeNode)) : null;
  const twist = el("button", { type: "button", class: "twist", text: children.length ? "▸" : "",
    "aria-label": "展开", onclick: (ev) => {
      ev.stopPropagation();
      if (!sub) return;
      sub.hidden = !sub.hidden;
      twist.textContent = sub.hidden ? "▸" : "▾";
    } });
  const row = el("div", { class: "node", dataset: { code: node.code }, onclick: () => selectCat(node, row) },
    twist, el("span", { class: "code", text: node.code }), el("span", { text: node.name }));
  return el("li", {}, row, sub);
}

function selectCat(node, row) {
  selectedCat = node;
  for (const r of document.querySelectorAll("#tree .node.selected")) r.classList.remove("selected");
  row.classList.add("selected");
  $("#cat-code").textContent = `${node.code}（第 ${node.level} 级）`;
  $("#cat-name").value = node.name;
  $("#cat-desc").value = node.description || "";
  $("#cat-save").disabled = false;
  addUnder = node.level < 3 ? node : null;
  $("#cat-parent").textContent = addUnder ? `在 ${node.code} ${node.name} 下` : "三级分类下不能再建子类";
}

function renderTree() {
  $("#tree").replaceChildren(...(app.state.tree || []).map(treeNode));
}

async function saveCategory(ev) {
  ev.preventDefault();
  const actor = requireActor();
  if (!actor || !selectedCat) return;
  try {
    const c = await api("PUT", `${KM}/categories/${encodeURIComponent(selectedCat.code)}`,
      { name: $("#cat-name").value.trim(), description: $("#cat-desc").value.trim() });
    setMsg($("#cat-msg"), `已保存 ${c.code} ${c.path.join(" / ")}`);
    await app.loadLookups();
    renderTree();
  } catch (e) {
    setMsg($("#cat-msg"), e.message, true);
  }
}

async function addCategory(ev) {
  ev.preventDefault();
  const actor = requireActor();
  if (!actor) return;
  if (selectedCat && !addUnder) {
    setMsg($("#cat-msg"), "分类最多三级：请选择一级或二级分类，或改为新增一级分类", true);
    return;
  }
  const body = { name: $("#new-cat-name").value.trim(), description: $("#new-cat-desc").value.trim(),
                 parent_code: addUnder ? addUnder.code : null, code: $("#new-cat-code").value.trim() || null };
  try {
    const c = await api("POST", `${KM}/categories`, body);
    setMsg($("#cat-msg"), `已新增 ${c.code} ${c.path.join(" / ")}`);
    $("#new-cat-name").value = "";
    $("#new-cat-code").value = "";
    $("#new-cat-desc").value = "";
    await app.loadLookups();
    renderTree();
  } catch (e) {
    setMsg($("#cat-msg"), e.message, true);
  }
}

const UNIT_FIELDS = ["name", "kind", "district", "phone", "address", "duty"];

function renderUnits() {
  const selected = $("#unit-id").value;
  $("#unit-rows").replaceChildren(...app.state.units.map((u) => el("tr", {
    class: String(u.id) === selected ? "selected" : "", dataset: { id: u.id },
    onclick: () => pickUnit(u),
  }, el("td", { text: u.name }), el("td", { text: u.kind }), el("td", { text: u.district }),
  el("td", { text: u.phone }))));
}

function pickUnit(u) {
  $("#unit-id").value = u ? String(u.id) : "";
  for (const f of UNIT_FIELDS) $(`#unit-${f}`).value = u ? u[f] : "";
  $("#unit-save").disabled = !u;
  setMsg($("#unit-msg"), "");
  renderUnits();
}

function unitBody() {
  const body = {};
  for (const f of UNIT_FIELDS) body[f] = $(`#unit-${f}`).value.trim();
  return body;
}

async function saveUnit(ev, create) {
  if (ev) ev.preventDefault();
  const actor = requireActor();
  if (!actor) return;
  const body = unitBody();
  try {
    const id = $("#unit-id").value;
    const u = create || !id ? await api("POST", `${KM}/units`, body)
      : await api("PUT", `${KM}/units/${encodeURIComponent(id)}`, body);
    await app.loadLookups();
    pickUnit(app.state.units.find((x) => x.id === u.id) || null);
    setMsg($("#unit-msg"), create ? `已新增 ${u.name}` : `已保存 ${u.name}`);
  } catch (e) {
    setMsg($("#unit-msg"), e.message, true);
  }
}

function initTaxonomy() {
  $("#cat-edit").addEventListener("submit", saveCategory);
  $("#cat-add").addEventListener("submit", addCategory);
  $("#cat-top").addEventListener("click", () => {
    addUnder = null;
    selectedCat = null;
    for (const r of document.querySelectorAll("#tree .node.selected")) r.classList.remove("selected");
    $("#cat-parent").textContent = "作为一级分类";
    $("#cat-code").textContent = "未选择";
    $("#cat-save").disabled = true;
  });
  $("#unit-form").addEventListener("submit", (ev) => saveUnit(ev, false));
  $("#unit-new").addEventListener("click", () => saveUnit(null, true));
  $("#unit-save").disabled = true;
}

// ---- 知识缺口 --------------------------------------------------------------------------------

function gapItem(group) {
  const questions = group.questions.map((q) => q.question);
  const drafted = group.drafted;
  const draftButton = el("button", { type: "button", dataset: { testid: "draft-from-gap" },
    text: drafted ? "再起草一条" : "起草答复", class: drafted ? "secondary" : "",
    onclick: async () => {
      const actor = requireActor();
      if (!actor) return;
      try {
        const d = await api("POST", `${KM}/gaps/draft`, { questions });
        say(`已起草 ${d.id}：请撰写答复口径后提交审核`);
        await app.openDraft(d);
      } catch (e) {
        say(e.message, true);
      }
    } });
  const act = el("div", { class: "act" }, draftButton);
  if (drafted) {
    act.prepend(el("button", { type: "button", class: "link",
      text: `已起草 ${drafted.id}（${STATUS_LABELS[drafted.status] || drafted.status}）`,
      onclick: async () => app.openDraft(await api("GET", `${KM}/answers/${drafted.template_id}`)) }));
  }
  if (group.answered_now) {
    const a = group.answered_now;
    act.prepend(el("button", { type: "button", class: "link", dataset: { testid: "answered-now" },
      text: `现已可答复：${a.id} ${a.title}`,
      onclick: async () => app.openDraft(await api("GET", `${KM}/answers/${a.template_id}`)) }));
  }
  const meta = [`最近一次 ${localTime(group.last_at)}`];
  if (group.best_id) meta.push(`当时最接近的答复 ${group.best_id}（相似度 ${group.best_score}），未达到答复标准`);
  return el("li", { class: group.answered_now ? "answered" : "", dataset: { testid: "gap-group" } },
    el("div", { class: "count", text: String(group.count) }, el("small", { text: "次提问" })),
    el("div", {},
      el("ul", { class: "qs" }, group.questions.map((q) => el("li", {},
        el("span", { text: q.question }), el("span", { class: "n", text: `×${q.count}` })))),
      el("div", { class: "meta", text: meta.join(" · ") })),
    act);
}

async function loadGaps() {
  const list = $("#gap-list");
  $("#gap-summary").textContent = "统计中…";
  try {
    const r = await api("GET", `${KM}/gaps?days=${$("#gap-days").value}`);
    $("#gap-summary").textContent =
      `共 ${r.asked} 次未能答复，${r.questions} 个不同问题，归为 ${r.groups.length} 组`;
    list.replaceChildren(...r.groups.map(gapItem));
    if (!r.groups.length) list.append(el("li", { class: "empty muted", text: "这段时间没有未能答复的提问" }));
  } catch (e) {
    $("#gap-summary").textContent = "";
    say(`读取知识缺口失败：${e.message}`, true);
  }
}

// ---- wiring ------------------------------------------------------------------------------------

export function initTools(context) {
  app = context;
  initUrgent();
  initImport();
  initTaxonomy();
  $("#gap-load").addEventListener("click", loadGaps);
  $("#gap-days").addEventListener("change", loadGaps);
  return {
    taxonomy: () => { renderTree(); renderUnits(); },
    gaps: loadGaps,
  };
}
