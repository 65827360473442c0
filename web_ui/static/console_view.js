// Drawing the console from the call state. Everything said on the call and every answer text
// is untrusted: it only ever goes into the page through textContent.

// [name, label, columns of 12]
export const FIELDS = [
  ["caller_name", "来电人姓名", 6], ["phone", "联系电话", 6],
  ["province", "省", 4], ["city", "市", 4], ["district", "区县", 4],
  ["street_address", "详细地址", 12],
  ["merchant", "涉及商家/单位", 6], ["incident_time", "事发时间", 6],
  ["id_number", "身份证号", 5], ["amount", "涉及金额", 4], ["plate", "车牌号", 3],
];
const SPEAKER = { caller: "来电人", agent: "坐席" };

export const $ = (sel) => document.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data")) node.setAttribute(k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

// ---- transcript ------------------------------------------------------------------------

function bubble(u) {
  const who = el("span", { class: "who", text: SPEAKER[u.speaker] || u.speaker });
  const when = el("span", { class: "when", text: clock(u.start) });
  return el("li", { class: `bubble ${u.speaker}`, id: `u-${u.index}`, dataTestid: "utterance",
                    dataSpeaker: u.speaker, dataIndex: String(u.index) },
            el("div", { class: "line-head" }, who, when), el("p", { class: "text", text: u.text }));
}

function partialBubble(p) {
  const text = p.text || "";
  const stable = p.stable && text.startsWith(p.stable) ? p.stable : "";
  const body = el("p", { class: "text" }, el("span", { class: "stable", text: stable }),
                  el("span", { class: "settling", text: text.slice(stable.length) }));
  return el("li", { class: `bubble ${p.speaker} partial`, dataTestid: "partial", dataSpeaker: p.speaker },
            el("div", { class: "line-head" }, el("span", { class: "who", text: (SPEAKER[p.speaker] || p.speaker) + " · 识别中…" })),
            body);
}

export function renderTranscript(state) {
  const list = $("#transcript");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const items = state.utterances.map(bubble);
  for (const speaker of ["agent", "caller"]) {
    const p = state.partials[speaker];
    if (p && p.text) items.push(partialBubble(p));
  }
  if (!items.length) items.push(el("li", { class: "muted empty", text: "暂无通话内容。新建通话后，从麦克风、录音或演示通话开始。" }));
  list.replaceChildren(...items);
  if (nearBottom || state.follow) list.scrollTop = list.scrollHeight;
}

/** Flash the utterance a field came from, with the words taken marked. */
export function showSource(state, suggested) {
  const u = state.utterances[suggested.utterance];
  const node = document.getElementById(`u-${suggested.utterance}`);
  if (!u || !node) return;
  const [a, b] = suggested.span || [0, 0];
  const text = node.querySelector(".text");
  text.replaceChildren(u.text.slice(0, a), el("mark", { text: u.text.slice(a, b) }), u.text.slice(b));
  node.scrollIntoView({ block: "center", behavior: "smooth" });
  node.classList.remove("flash");
  void node.offsetWidth;
  node.classList.add("flash");
}

// ---- work order ------------------------------------------------------------------------

export function buildFields(handlers) {
  const box = $("#fields");
  for (const [name, label, span] of FIELDS) {
    const input = el("input", { id: `f-${name}`, name, dataTestid: `field-${name}`, maxlength: "200" });
    input.addEventListener("change", () => handlers.edit(name, input.value));
    const badge = el("span", { class: "badge-slot", id: `b-${name}`, dataTestid: `badge-${name}` });
    badge.addEventListener("click", () => handlers.source(name));
    const hint = el("div", { class: "hint", id: `h-${name}`, hidden: true });
    box.append(el("div", { class: `field span${span}` },
                  el("div", { class: "label-row" }, el("label", { for: `f-${name}`, text: label }), badge),
                  input, hint));
  }
}

function setBadge(slot, kind, tip) {
  slot.replaceChildren();
  slot.title = tip || "";
  if (kind === "copilot") slot.append(el("span", { class: "tag auto", text: "智能填写" }));
  else if (kind === "operator") slot.append(el("span", { class: "tag manual", text: "人工" }));
}

function sourceTip(state, s) {
  if (!s) return "";
  const u = state.utterances[s.utterance];
  const said = u ? `${SPEAKER[u.speaker] || u.speaker}第 ${s.utterance + 1} 句：「${u.text}」` : `第 ${s.utterance + 1} 句`;
  const conf = typeof s.confidence === "number" ? `置信度 ${Math.round(s.confidence * 100)}%` : "";
  const norm = s.normalized ? `；规范值 ${s.normalized}` : "";
  return `来源：${said}\n${conf}${norm}（点击查看原句）`;
}

export function renderForm(state, handlers) {
  const form = state.form || {};
  for (const [name] of FIELDS) {
    const entry = form[name] || { value: null, source: null, suggested: null };
    const input = document.getElementById(`f-${name}`);
    if (document.activeElement !== input && !state.pending.has(name)) input.value = entry.value || "";
    input.classList.toggle("auto", entry.source === "copilot");
    input.classList.toggle("manual", entry.source === "operator");
    const tip = entry.source === "copilot" ? sourceTip(state, entry.suggested)
      : entry.source === "operator" ? "坐席人工填写或修改" : "";
    setBadge(document.getElementById(`b-${name}`), entry.source, tip);
    input.title = tip;
    const hint = document.getElementById(`h-${name}`);
    const other = entry.suggested && entry.source === "operator" && entry.suggested.value !== entry.value;
    const handBack = entry.source === "operator";
    hint.hidden = !handBack;
    if (handBack) {
      const btn = el("button", { type: "button", class: "link",
                                 text: other ? `采用智能值「${entry.suggested.value}」` : "交还智能填写" });
      btn.addEventListener("click", () => handlers.handBack(name));
      hint.replaceChildren(btn);
    }
  }
}

function fillCategories(state, cat) {
  const t = state.ticket;
  const options = [el("option", { value: "", text: state.categories.length ? "请选择分类" : "等待来电人描述…" })];
  let known = false;
  for (const c of state.categories) {
    const code = c.code || "";
    known = known || code === t.category_code.value;
    options.push(el("option", { value: code, text: `${categoryName(c)}（${pct(c.score)}）` }));
  }
  if (t.category_code.value && !known) {
    options.push(el("option", { value: t.category_code.value, text: t.category_code.label || t.category_code.value }));
  }
  cat.replaceChildren(...options);
  cat.value = t.category_code.value || "";
}

/** The ticket-only fields: the copilot's suggestion until the operator changes them. */
export function renderTicketFields(state) {
  const t = state.ticket;
  const content = $("#t-content");
  if (document.activeElement !== content) content.value = t.content.value || "";
  setBadge($("#b-content"), t.content.edited ? "operator" : (t.content.value ? "copilot" : null),
           t.content.edited ? "坐席人工填写或修改" : "由来电人诉求自动归纳");
  $("#t-request_type").value = t.request_type.value || "";
  setBadge($("#b-request_type"), t.request_type.edited ? "operator" : (t.request_type.value ? "copilot" : null),
           t.request_type.edited ? "坐席人工选择" : "系统根据通话判断");
  const cat = $("#t-category");
  if (document.activeElement !== cat) fillCategories(state, cat);
  setBadge($("#b-category"), t.category_code.edited ? "operator" : (t.category_code.value ? "copilot" : null),
           t.category_code.edited ? "坐席人工选择" : "系统推荐的第一分类");
  const unit = $("#t-unit");
  if (document.activeElement !== unit) unit.value = t.unit.value || "";
  setBadge($("#b-unit"), t.unit.edited ? "operator" : (t.unit.value ? "copilot" : null),
           t.unit.edited ? "坐席人工填写或修改" : (state.suggestions?.unit_detail?.reason || "系统推荐"));
  const note = $("#link-note");
  note.hidden = !t.link_to || !!state.filed;
  if (t.link_to) {
    const cancel = el("button", { type: "button", class: "link", text: "取消关联" });
    cancel.addEventListener("click", () => state.handlers.link(null));
    note.replaceChildren(`将作为重复件关联到工单 ${t.link_label || "#" + t.link_to}　`, cancel);
  }
}

// ---- suggestions -----------------------------------------------------------------------

export function categoryName(c) {
  if (Array.isArray(c.path) && c.path.length) return c.path.join(" / ");
  return c.name || c.label || c.code || "未命名分类";
}

function pct(score) {
  if (typeof score !== "number") return "—";
  const p = score * 100;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

function copyText(text, button) {
  const done = () => {
    button.textContent = "已复制";
    setTimeout(() => { button.textContent = "复制"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else fallbackCopy(text, done);
}

function fallbackCopy(text, done) {
  const area = el("textarea", { class: "sr-only" });
  area.value = text;
  document.body.append(area);
  area.select();
  try { document.execCommand("copy"); done(); } finally { area.remove(); }
}

function alertNode(a) {
  const emergency = a.kind === "emergency";
  const title = emergency ? `紧急：请立即转接 ${a.line}` : `不予受理：${a.matter || ""}`;
  const lines = [el("strong", { class: "alert-title", text: title })];
  if (a.reason) lines.push(el("p", { text: a.reason }));
  if (emergency && a.also_notify && a.also_notify.length) lines.push(el("p", { text: `同时通知：${a.also_notify.join("、")}` }));
  if (!emergency && a.direct_to) lines.push(el("p", { text: `请引导来电人：${a.direct_to}` }));
  if (a.triggers && a.triggers.length) lines.push(el("p", { class: "triggers", text: `触发词：${a.triggers.join("、")}` }));
  return el("div", { class: `alert ${emergency ? "emergency" : "out-of-scope"}`, role: "alert",
                     dataTestid: "alert", dataKind: a.kind, dataLine: a.line || "" }, ...lines);
}

function answerNode(a) {
  const node = document.getElementById("answer-tpl").content.firstElementChild.cloneNode(true);
  node.querySelector(".title").textContent = a.title || a.question || "答复口径";
  node.querySelector(".score").textContent = `相关度 ${Number(a.score || 0).toFixed(3)}`;
  const path = (a.category_path || []).join(" / ") || "未分类";
  node.querySelector(".meta").textContent =
    `${a.id}${a.template_id ? " · 模板 " + a.template_id : ""} · 第 ${a.version} 版 · ${path}` + (a.source ? ` · 依据：${a.source}` : "");
  node.querySelector(".meta").dataset.testid = "answer-source";
  node.querySelector(".answer").textContent = a.answer;
  node.querySelector(".unit").textContent =
    `承办单位：${a.unit || "未指定"}${a.unit_phone ? "（" + a.unit_phone + "）" : ""}`;
  const copy = node.querySelector(".copy");
  copy.addEventListener("click", () => copyText(a.answer, copy));
  return node;
}

function duplicateNode(d, state) {
  const linked = state.ticket.link_to === d.ticket_id;
  const btn = el("button", { type: "button", class: linked ? "secondary" : "", dataTestid: "link-duplicate",
                             text: linked ? "已关联" : "关联" });
  btn.addEventListener("click", () => state.handlers.link(linked ? null : d));
  const reasons = (d.reasons || []).join("；");
  return el("li", { class: "card dup", dataTestid: "duplicate" },
            el("div", { class: "head" }, el("strong", { text: `工单 ${d.number || "#" + d.ticket_id}` }),
               el("span", { class: "badge", text: `相似度 ${pct(d.score)}` })),
            el("div", { class: "meta", text: [d.status, reasons].filter(Boolean).join(" · ") }),
            el("p", { class: "answer", text: d.content || "" }),
            el("div", { class: "foot" }, el("span", { class: "unit", text: d.unit ? `承办单位：${d.unit}` : "" }), btn));
}

export function renderSuggestions(state) {
  const s = state.suggestions;
  $("#alerts").replaceChildren(...(s?.alerts || []).map(alertNode));
  $("#suggest-empty").hidden = !!s;
  $("#suggest-body").hidden = !s;
  if (!s) { $("#suggest-meta").textContent = ""; return; }
  $("#suggest-meta").textContent = typeof s.latency_ms === "number" ? `（${Math.round(s.latency_ms)} 毫秒）` : "";
  const top = (s.top || []).slice(0, 3);
  const best = Math.max(1e-9, ...top.map((c) => c.score || 0));
  $("#categories").replaceChildren(...top.map((c, i) =>
    el("li", { dataTestid: "category", title: `${c.code || ""} ${categoryName(c)}` },
       el("span", { class: "rank", text: String(i + 1) }),
       el("span", { class: "name", text: categoryName(c) }),
       el("span", { class: "bar", style: `--w:${Math.round(((c.score || 0) / best) * 100)}%` }),
       el("span", { class: "badge", text: pct(c.score) }))));
  const due = s.due_date ? `，办理时限 ${s.deadline_working_days ?? "—"} 个工作日，截止 ${String(s.due_date).slice(0, 10)}` : "";
  $("#request-type").textContent = s.request_type ? `诉求类型：${s.request_type}${due}` : "诉求类型：待判断";
  const answers = s.answers || [];
  $("#answers").replaceChildren(...(answers.length ? answers.map(answerNode)
    : [el("li", { class: "muted", text: "知识库中没有找到相关答复口径" })]));
  const unit = $("#suggested-unit");
  if (s.unit) {
    const detail = s.unit_detail || {};
    unit.replaceChildren(el("strong", { text: s.unit }),
                         detail.phone ? `（${detail.phone}）` : "",
                         el("span", { class: "muted reason", text: detail.reason ? `　依据：${detail.reason}` : "" }));
  } else unit.textContent = "暂无建议，请人工指定";
  const local = (s.local_units || []).map((u) => (u.phone ? `${u.name} ${u.phone}` : u.name));
  if (local.length) unit.append(el("span", { class: "muted local-units", dataTestid: "local-units",
                                            text: `属地：${local.join("；")}` }));
  const dups = s.duplicates || [];
  $("#duplicates").replaceChildren(...(dups.length ? dups.map((d) => duplicateNode(d, state))
    : [el("li", { class: "muted", text: "未发现疑似重复工单" })]));
}
