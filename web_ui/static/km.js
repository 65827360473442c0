// The knowledge managers' console (知识管理台): the answer list with filters, the editor, the
// review flow (提交审核 / 审核通过并发布 / 退回 / 下线), version history with diffs; the other tabs
// live in km_tools.js. Every write is made as the signed-in account (session cookie).
import { $, api, currentActor, el, EXPIRY_LABELS, fillSelect, flattenTree, hasRole, initActor, lines,
         localTime, requireActor, say, setMsg, STATUS_LABELS, statusTag, tag } from "/static/km_common.js";
import { initTools } from "/static/km_tools.js";

const KM = "/api/v1/km";
const state = { cats: [], units: [], offset: 0, limit: 50, total: 0, current: null };

// ---- lookups (taxonomy, units) ---------------------------------------------------------------

async function loadLookups() {
  const [tree, units] = await Promise.all([api("GET", "/api/v1/kb/categories"), api("GET", `${KM}/units`)]);
  state.tree = tree;
  state.cats = flattenTree(tree);
  state.units = units;
  const catOptions = state.cats.map((c) => ({ value: c.code, text: `${c.code} ${c.path.join(" / ")}` }));
  const unitOptions = units.map((u) => ({ value: u.name, text: u.name }));
  for (const id of ["#f-category", "#e-category", "#u-category"]) {
    const select = $(id);
    const keep = select.value;
    fillSelect(select, catOptions);
    select.value = keep;
  }
  for (const id of ["#f-unit", "#e-unit", "#u-unit"]) {
    const select = $(id);
    const keep = select.value;
    fillSelect(select, unitOptions);
    select.value = keep;
  }
  if (state.current) fillEditor(state.current);
}

// ---- list ------------------------------------------------------------------------------------

function listParams() {
  const p = new URLSearchParams({ limit: state.limit, offset: state.offset });
  const q = $("#f-q").value.trim();
  if (q) p.set("q", q);
  if ($("#f-status").value) p.set("status", $("#f-status").value);
  if ($("#f-category").value) p.set("category", $("#f-category").value);
  if ($("#f-unit").value) p.set("unit", $("#f-unit").value);
  const expiry = $("#f-expiry").value;
  if (expiry === "expired") p.set("expired", "true");
  else if (expiry) p.set("expiring_within_days", expiry);
  return p;
}

async function loadList() {
  try {
    const page = await api("GET", `${KM}/answers?${listParams()}`);
    state.total = page.total;
    renderList(page.items);
  } catch (e) {
    say(`读取答复列表失败：${e.message}`, true);
  }
}

function itemTags(item) {
  const tags = [statusTag(item.status)];
  if (item.urgent) tags.push(tag("urgent", "紧急"));
  if (item.expiry) tags.push(tag(item.expiry, EXPIRY_LABELS[item.expiry]));
  return tags;
}

function renderList(items) {
  const list = $("#answer-list");
  list.replaceChildren(...items.map((item) => el("li", {
    class: state.current && state.current.template_id === item.template_id ? "selected" : "",
    dataset: { id: item.template_id, status: item.status }, tabindex: "0",
    onclick: () => openAnswer(item.template_id),
    onkeydown: (ev) => { if (ev.key === "Enter") openAnswer(item.template_id); },
  },
  el("div", { class: "row1" }, el("span", { class: "title", text: item.title }), ...itemTags(item)),
  el("div", { class: "meta", text: [
    item.id, `第 ${item.version} 版`, item.category_path.join(" / ") || "未分类", item.unit || "",
    item.expires_on ? `失效 ${item.expires_on}` : "",
  ].filter(Boolean).join(" · ") }))));
  if (!items.length) list.append(el("li", { class: "empty muted", text: "没有符合条件的答复" }));
  $("#list-total").textContent = `共 ${state.total} 条`;
  const pageNo = Math.floor(state.offset / state.limit) + 1;
  const pages = Math.max(1, Math.ceil(state.total / state.limit));
  $("#page-info").textContent = `第 ${pageNo} / ${pages} 页`;
  $("#prev-page").disabled = state.offset === 0;
  $("#next-page").disabled = state.offset + state.limit >= state.total;
}

// ---- editor ----------------------------------------------------------------------------------

function fillEditor(d) {
  $("#e-title").value = d ? d.title : "";
  $("#e-questions").value = d ? d.questions.join("\n") : "";
  $("#e-answer").value = d ? d.answer : "";
  $("#e-category").value = (d && d.category_code) || "";
  $("#e-unit").value = (d && d.unit) || "";
  $("#e-source").value = d ? d.source : "";
  $("#e-request-type").value = d ? d.request_type : "";
  $("#e-effective").value = (d && d.effective_from) || "";
  $("#e-expires").value = (d && d.expires_on) || "";
  $("#e-note").value = "";
  $("#editor-heading").textContent = d ? `${d.id} · 第 ${d.version} 版` : "新建答复";
  $("#editor-badges").replaceChildren(...(d ? itemTags(d) : []));
  $("#edit-warning").hidden = !(d && d.status === "published");
  $("#save").textContent = d && d.status !== "draft" ? "保存修改（退回草稿）" : "保存草稿";
}

function editorFields() {
  return {
    title: $("#e-title").value.trim(),
    questions: lines($("#e-questions").value),
    answer: $("#e-answer").value.trim(),
    category_code: $("#e-category").value || null,
    unit_name: $("#e-unit").value || null,
    source: $("#e-source").value.trim(),
    request_type: $("#e-request-type").value,
    effective_from: $("#e-effective").value || null,
    expires_on: $("#e-expires").value || null,
  };
}

async function save(ev) {
  ev.preventDefault();
  const actor = requireActor();
  if (!actor) return;
  const fields = editorFields();
  if (!fields.answer) {
    setMsg($("#editor-msg"), "请填写答复口径", true);
    $("#e-answer").focus();
    return;
  }
  const note = $("#e-note").value.trim();
  try {
    let detail;
    if (state.current) {
      const r = await api("PUT", `${KM}/answers/${state.current.template_id}`,
        { ...fields, note, base_version: state.current.version });
      detail = r.answer;
      setMsg($("#editor-msg"), r.changed ? `已保存为第 ${detail.version} 版（${STATUS_LABELS[detail.status]}）` : "没有改动");
    } else {
      detail = await api("POST", `${KM}/answers`, { ...fields, note });
      setMsg($("#editor-msg"), `已新建 ${detail.id}（草稿）`);
    }
    show(detail);
    loadList();
  } catch (e) {
    setMsg($("#editor-msg"), e.message, true);
  }
}

function newAnswer() {
  state.current = null;
  fillEditor(null);
  renderReview(null);
  renderVersions(null);
  setMsg($("#editor-msg"), "");
  for (const li of document.querySelectorAll("#answer-list li.selected")) li.classList.remove("selected");
  $("#e-title").focus();
}

export async function openAnswer(templateId) {
  try {
    show(await api("GET", `${KM}/answers/${templateId}`));
    setMsg($("#editor-msg"), "");
  } catch (e) {
    say(`打开答复失败：${e.message}`, true);
  }
}

function show(detail) {
  state.current = detail;
  fillEditor(detail);
  renderReview(detail);
  renderVersions(detail);
  for (const li of document.querySelectorAll("#answer-list li")) {
    li.classList.toggle("selected", Number(li.dataset.id) === detail.template_id);
  }
}

// ---- review ----------------------------------------------------------------------------------

function renderReview(d) {
  const buttons = ["#submit-review", "#approve", "#reject", "#retire"];
  const writer = hasRole("knowledge_manager"); // reviewers read and decide; managers write
  for (const id of ["#save", "#new-answer"]) {
    $(id).disabled = !writer;
    $(id).title = writer ? "" : "您的账号没有撰写权限（需要知识管理员角色）";
  }
  if (!d) {
    for (const b of buttons) $(b).disabled = true;
    $("#review-state").textContent = "请在左侧选择或新建一条答复。";
    $("#review-authors").textContent = "";
    $("#review-hint").textContent = "";
    return;
  }
  const actor = currentActor();
  const isAuthor = d.authors.some((a) => a.toLowerCase() === actor.toLowerCase());
  $("#review-state").replaceChildren("当前状态：", statusTag(d.status),
    d.live ? "（检索中可见）" : "（检索中不可见）");
  $("#review-authors").textContent = `本版作者：${d.authors.join("、")} · 最后修改：${d.updated_by} ${localTime(d.updated_at)}`;
  const reviewer = hasRole("reviewer");
  $("#submit-review").disabled = d.status !== "draft" || !writer;
  $("#approve").disabled = d.status !== "in_review" || isAuthor || !reviewer;
  $("#reject").disabled = d.status !== "in_review" || isAuthor || !reviewer;
  $("#retire").disabled = !["published", "draft"].includes(d.status) || !reviewer;
  let hint = "";
  if (!actor) hint = "正在确认登录状态…";
  else if (d.status === "in_review" && !reviewer) hint = "等待审核员审核（您的账号没有审核权限）。";
  else if (d.status === "in_review" && isAuthor) hint = `您（${actor}）是本版作者，须由其他人审核发布或退回。`;
  else if (d.status === "in_review") hint = `请核对内容后审核：通过即发布并立即生效于检索和智能问答。`;
  else if (d.status === "draft") hint = "草稿修改完成后提交审核；审核人须为作者以外的人。";
  else if (d.status === "published") hint = "已发布。修改后将退回草稿并重新审核；过时的答复请下线。";
  else if (d.status === "retired") hint = "已下线。修改后回到草稿，可重新提交审核。";
  $("#review-hint").textContent = hint;
}

async function flow(step) {
  const d = state.current;
  if (!d) return;
  const actor = requireActor();
  if (!actor) return;
  const body = { version: d.version };
  if (step === "reject") {
    body.note = $("#reject-note").value.trim();
    if (!body.note) {
      say("退回时请写明原因", true);
      $("#reject-note").focus();
      return;
    }
  }
  const done = { submit: "已提交审核", approve: "已审核通过并发布，检索中立即可见", reject: "已退回作者",
                 retire: "已下线，检索中不再出现" };
  try {
    show(await api("POST", `${KM}/answers/${d.template_id}/${step}`, body));
    setMsg($("#editor-msg"), "");
    say(`${d.id}：${done[step]}`);
    if (step === "reject") $("#reject-note").value = "";
    loadList();
  } catch (e) {
    say(e.message, true);
    if (e.status === 409) openAnswer(d.template_id);
  }
}

// ---- versions and diff -----------------------------------------------------------------------

function renderVersions(d) {
  const rows = $("#version-rows");
  $("#diff").replaceChildren();
  if (!d) {
    rows.replaceChildren();
    fillSelect($("#diff-from"), [], false);
    fillSelect($("#diff-to"), [], false);
    return;
  }
  rows.replaceChildren(...[...d.versions].reverse().map((v) => el("tr", {
    class: v.content_changed ? "" : "status-only", dataset: { version: v.version },
    title: v.content_changed ? "点击查看与上一版的差异" : "仅状态变化；点击查看",
    onclick: () => showDiff(Math.max(1, v.version - 1), v.version),
  },
  el("td", { text: `第 ${v.version} 版` }),
  el("td", {}, statusTag(v.status)),
  el("td", { text: v.changed_by }),
  el("td", { text: localTime(v.changed_at) }),
  el("td", { class: "note", text: v.note, title: v.note }))));
  const options = d.versions.map((v) => ({ value: v.version, text: `第 ${v.version} 版` }));
  fillSelect($("#diff-from"), options, false);
  fillSelect($("#diff-to"), options, false);
  $("#diff-to").value = String(d.version);
  $("#diff-from").value = String(Math.max(1, d.version - 1));
}

function segmentsNode(change) {
  const wrap = change.field === "questions" ? el("div", { class: "text lines" }) : el("p", { class: "text" });
  for (const s of change.segments) {
    const text = change.field === "status" ? (STATUS_LABELS[s.text] || s.text) : s.text;
    const node = s.op === "insert" ? el("ins", { text })
      : s.op === "delete" ? el("del", { text }) : el("span", { text });
    wrap.append(change.field === "questions" ? el("div", {}, node) : node);
  }
  if (!change.segments.length) wrap.append(el("span", { class: "muted", text: "（清空）" }));
  return wrap;
}

async function showDiff(from, to) {
  const d = state.current;
  if (!d) return;
  try {
    const diff = await api("GET", `${KM}/answers/${d.template_id}/diff?from=${from}&to=${to}`);
    const box = $("#diff");
    box.replaceChildren(el("h4", { text: `第 ${diff.from_version} 版 → 第 ${diff.to_version} 版` }));
    if (!diff.changes.length) box.append(el("p", { class: "muted", text: "两个版本内容相同" }));
    for (const change of diff.changes) {
      box.append(el("h4", { text: change.label }), segmentsNode(change));
    }
    box.scrollIntoView({ block: "nearest" });
  } catch (e) {
    say(e.message, true);
  }
}

// ---- tabs and start --------------------------------------------------------------------------

const tabLoaders = {};

function selectTab(name) {
  for (const b of document.querySelectorAll(".tabs button")) {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `tab-${name}`;
  if (tabLoaders[name]) tabLoaders[name]();
}

async function start() {
  initActor(() => renderReview(state.current));
  for (const b of document.querySelectorAll(".tabs button")) {
    b.addEventListener("click", () => selectTab(b.dataset.tab));
  }
  $("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); state.offset = 0; loadList(); });
  for (const id of ["#f-status", "#f-expiry", "#f-category", "#f-unit"]) {
    $(id).addEventListener("change", () => { state.offset = 0; loadList(); });
  }
  $("#prev-page").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadList(); });
  $("#next-page").addEventListener("click", () => { state.offset += state.limit; loadList(); });
  $("#new-answer").addEventListener("click", newAnswer);
  $("#editor").addEventListener("submit", save);
  $("#submit-review").addEventListener("click", () => flow("submit"));
  $("#approve").addEventListener("click", () => flow("approve"));
  $("#reject").addEventListener("click", () => flow("reject"));
  $("#retire").addEventListener("click", () => flow("retire"));
  $("#diff-go").addEventListener("click", () => showDiff(Number($("#diff-from").value), Number($("#diff-to").value)));
  Object.assign(tabLoaders, initTools({
    state, loadLookups, loadList,
    openDraft: async (detail) => { selectTab("answers"); show(detail); await loadList(); $("#e-answer").focus(); $("#e-answer").select(); },
  }));
  try {
    await loadLookups();
  } catch (e) {
    say(`读取分类和承办单位失败：${e.message}`, true);
  }
  await loadList();
  document.body.dataset.ready = "1";
}

start();
