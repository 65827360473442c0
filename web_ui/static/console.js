// The operator console (坐席工作台): one call at a time, drawn from the call's events websocket
// (a snapshot first, then live events), so a reload or a reconnect redraws everything final.
import { $, buildFields, categoryName, FIELDS, renderForm, renderSuggestions, renderTicketFields,
         renderTranscript, showSource } from "/static/console_view.js";
import { decodeRecording, playRecording, startMicrophone } from "/static/console_audio.js";
import { loadDemoCalls, playScript } from "/static/console_demo.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CALL_KEY = "copilot.console.call";

const blankTicket = () => ({
  content: { value: "", edited: false }, request_type: { value: "", edited: false },
  category_code: { value: "", edited: false, label: "" }, unit: { value: "", edited: false },
  link_to: null, link_label: "",
});

const state = {
  callId: null, meta: {}, utterances: [], form: {}, suggestions: null, suggestedFor: -1,
  partials: {}, pending: new Set(), ticket: blankTicket(), categories: [], follow: true,
  source: null, events: null, retry: 0, holdUntil: 0, demoCalls: [], pace: 1, filed: null,
};

// ---- helpers -------------------------------------------------------------------------------

function errorText(body, status) {
  const d = body && body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).filter((x) => x !== "body").join(".")}：${e.msg}`).join("；");
  return `请求失败（HTTP ${status}）`;
}

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const e = new Error(errorText(data, r.status));
    e.status = r.status;
    throw e;
  }
  return data;
}

function say(text, isError = false) {
  const s = $("#source-status");
  s.textContent = text;
  s.classList.toggle("error", isError);
}

function saveTicketDraft() {
  if (state.callId) localStorage.setItem(`copilot.console.ticket.${state.callId}`, JSON.stringify(state.ticket));
}

// ---- drawing -------------------------------------------------------------------------------

const handlers = {
  edit: (name, value) => editField(name, value),
  handBack: (name) => editField(name, null),
  source: (name) => { const s = state.form[name]?.suggested; if (s) showSource(state, s); },
  link: (dup) => {
    state.ticket.link_to = dup ? dup.ticket_id : null;
    state.ticket.link_label = dup ? (dup.number || `#${dup.ticket_id}`) : "";
    saveTicketDraft();
    draw();
  },
};
state.handlers = handlers;

function drawHeader() {
  $("#call-id").textContent = state.callId || "未开始";
  const ended = !!state.meta.ended_at;
  const live = !!state.source;
  const pill = $("#call-state");
  pill.textContent = !state.callId ? "空闲" : ended ? "已结束" : live ? "通话中" : "已接通";
  pill.className = `pill ${!state.callId ? "" : ended ? "ended" : "live"}`;
  $("#end-call").disabled = !state.callId || ended;
  $("#stop").disabled = !live;
  for (const id of ["#demo-play", "#mic-start", "#file-input"]) $(id).disabled = live;
  $("#recording-play").disabled = live || !$("#recording-select").value;
  $("#file-ticket").disabled = !state.callId || !!state.filed || !!state.meta.ticket_id;
}

function draw() {
  drawHeader();
  renderTranscript(state);
  renderForm(state, handlers);
  renderTicketFields(state);
  renderSuggestions(state);
  if (state.meta.ticket_id && !state.filed && state.filedLoading !== state.meta.ticket_id) {
    loadFiledTicket(state.meta.ticket_id);
  }
}

// ---- call state from the server ------------------------------------------------------------

function takeSuggestions(s, forUtterance) {
  if (forUtterance < state.suggestedFor) return;
  state.suggestedFor = forUtterance;
  state.suggestions = s;
  if (!s) return;
  const t = state.ticket;
  state.categories = (s.top || []).slice(0, 3);
  if (!t.content.edited) t.content.value = s.summary || "";
  if (!t.request_type.edited) t.request_type.value = s.request_type || "";
  if (!t.category_code.edited && state.categories.length) {
    t.category_code.value = state.categories[0].code || "";
    t.category_code.label = categoryName(state.categories[0]);
  }
  if (!t.unit.edited) t.unit.value = s.unit || "";
  saveTicketDraft();
}

function takeSnapshot(call) {
  for (const [key, value] of Object.entries(call.draft || {})) {
    if (state.ticket[key]) state.ticket[key] = { ...state.ticket[key], value: value || "", edited: true };
  }
  state.meta = call.meta || {};
  state.utterances = call.utterances || [];
  state.form = call.form || {};
  state.partials = {};
  state.suggestedFor = -1;
  takeSuggestions(call.suggestions, (call.suggested_for ?? 0) - 1);
}

function onEvent(msg) {
  switch (msg.type) {
    case "snapshot":
      state.retry = 0;
      $("#banner").hidden = true;
      $("#conn").textContent = "实时连接正常";
      takeSnapshot(msg.call);
      break;
    case "partial":
      state.partials[msg.speaker] = { speaker: msg.speaker, text: msg.text, stable: msg.stable };
      renderTranscript(state);
      return;
    case "final":
      if (msg.index > state.utterances.length) { resync(); return; }
      state.utterances[msg.index] = { index: msg.index, speaker: msg.speaker, text: msg.text,
                                      start: msg.start, end: msg.end, source: msg.source };
      delete state.partials[msg.speaker];
      break;
    case "form":
      state.form = msg.form;
      break;
    case "suggestions": {
      const { type, call_id: _c, form, for_utterance: forU, ...s } = msg;
      if (form) state.form = form;
      takeSuggestions(s, forU);
      break;
    }
    case "ended":
      state.meta.ended_at = msg.ended_at || new Date().toISOString();
      break;
    case "ticket":
      if (msg.ticket) { state.meta.ticket_id = msg.ticket.id; showTicket(msg.ticket); }
      break;
    case "error":
      say(msg.detail || "服务器报告错误", true);
      return;
    default:
      return;
  }
  draw();
}

async function resync() {
  try { takeSnapshot(await api("GET", `/api/v1/calls/${encodeURIComponent(state.callId)}`)); draw(); } catch { /* the reconnect redraws */ }
}

function connectEvents() {
  if (state.events) { state.events.onclose = null; state.events.close(); }
  if (!state.callId) return;
  const callId = state.callId;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/calls/${encodeURIComponent(callId)}/events`);
  state.events = ws;
  ws.onmessage = (ev) => { try { onEvent(JSON.parse(ev.data)); } catch (e) { console.error(e); } };
  ws.onclose = () => {
    if (state.events !== ws || state.callId !== callId) return;
    $("#banner").hidden = false;
    $("#conn").textContent = "连接中断";
    const wait = Math.max(Math.min(10, 2 ** state.retry++) * 1000, state.holdUntil - Date.now());
    setTimeout(() => { if (state.events === ws) connectEvents(); }, wait);
  };
}

function setCall(callId, snapshot) {
  state.callId = callId;
  state.ticket = blankTicket();
  state.filed = null;
  state.filedLoading = null;
  const saved = localStorage.getItem(`copilot.console.ticket.${callId}`);
  if (saved) { try { state.ticket = { ...blankTicket(), ...JSON.parse(saved) }; } catch { /* a broken draft */ } }
  state.meta = {}; state.utterances = []; state.form = {}; state.partials = {};
  state.suggestions = null; state.suggestedFor = -1; state.categories = [];
  if (snapshot) takeSnapshot(snapshot);
  $("#ticket-result").textContent = "";
  localStorage.setItem(CALL_KEY, callId);
  const url = new URL(location.href);
  url.searchParams.set("call", callId);
  history.replaceState(null, "", url);
  connectEvents();
  draw();
}

async function newCall() {
  stopSource();
  const snap = await api("POST", "/api/v1/calls", {});
  setCall(snap.call_id, snap);
  say("新通话已建立");
  return snap.call_id;
}

async function ensureCall() {
  if (!state.callId || state.meta.ended_at) return newCall();
  return state.callId;
}

// ---- operator edits and filing -------------------------------------------------------------

let editChain = Promise.resolve();

const FIELD_LABEL = Object.fromEntries(FIELDS.map(([name, label]) => [name, label]));

/** Save one operator edit; while the server is away it is retried, never dropped. */
function editField(name, value) {
  const callId = state.callId;
  if (!callId) return Promise.resolve();
  state.pending.add(name);
  editChain = editChain.then(async () => {
    try {
      for (let retry = 0; ; retry++) {
        try {
          const r = await api("PATCH", `/api/v1/calls/${encodeURIComponent(callId)}/form`, { fields: { [name]: value } });
          if (state.callId === callId && r.form) state.form = r.form;
          return;
        } catch (e) {
          if (e.status && e.status < 500) { say(`「${FIELD_LABEL[name] || name}」未保存：${e.message}`, true); return; }
          say(`「${FIELD_LABEL[name] || name}」暂未保存，服务器恢复后自动保存…`, true);
          await sleep(Math.min(10, 2 ** retry) * 1000);
        }
      }
    } finally {
      state.pending.delete(name);
      draw();
    }
  });
  return editChain;
}

function ticketEdit(key, value) {
  const t = state.ticket[key];
  t.value = value;
  t.edited = true;
  if (key === "category_code") t.label = $("#t-category").selectedOptions[0]?.textContent || value;
  saveTicketDraft();
  renderTicketFields(state);
  editField(key, value);  // kept with the call on the server too: another browser sees it
}

function showTicket(ticket, duplicates = []) {
  state.filed = ticket;
  const due = ticket.due_date ? String(ticket.due_date).slice(0, 10) : "—";
  let text = `工单已提交：编号 ${ticket.number || ticket.id}，状态 ${ticket.status || "受理"}，办理时限至 ${due}` +
    (ticket.unit ? `，承办单位 ${ticket.unit}` : "");
  if (ticket.duplicate_of) {
    const label = state.ticket.link_to === ticket.duplicate_of && state.ticket.link_label;
    text += `；已作为重复件关联到工单 ${label || "#" + ticket.duplicate_of}`;
  }
  else if (duplicates.length) text += `；另有 ${duplicates.length} 条疑似重复工单，请核对`;
  $("#ticket-result").textContent = text;
  $("#ticket-result").classList.remove("error");
  drawHeader();
  renderTicketFields(state);
}

/** After a reload: show the ticket this call already has. */
async function loadFiledTicket(id) {
  state.filedLoading = id;
  try { showTicket(await api("GET", `/api/v1/tickets/${id}`)); } catch {
    $("#ticket-result").textContent = `本通话已提交工单（ID ${id}）`;
  }
}

async function fileTicket() {
  if (!state.callId) return;
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  const t = state.ticket;
  const result = $("#ticket-result");
  result.textContent = "保存修改…";
  await editChain;
  if (!t.content.value.trim()) {
    result.textContent = "请先填写诉求内容";
    result.classList.add("error");
    return;
  }
  $("#file-ticket").disabled = true;
  result.textContent = "提交中…";
  result.classList.remove("error");
  try {
    const r = await api("POST", `/api/v1/calls/${encodeURIComponent(state.callId)}/ticket`, {
      content: t.content.value.trim(), request_type: t.request_type.value || null,
      category_code: t.category_code.value || null, unit: t.unit.value.trim() || null,
      link_to: t.link_to,
    });
    showTicket(r.ticket, r.duplicates || []);
  } catch (e) {
    result.textContent = `提交失败：${e.message}`;
    result.classList.add("error");
    $("#file-ticket").disabled = false;
  }
}

// ---- call sources ----------------------------------------------------------------------------

function stopSource() {
  if (state.source) { state.source.stop(); state.source = null; }
  state.partials = {};
  drawHeader();
}

function sourceDone(label) {
  return () => { if (state.source && state.source.label === label) { state.source = null; say(`${label}结束`); draw(); } };
}

function audioStatus(label) {
  return (s) => {
    if (s === "reconnecting") say(`${label}：音频连接中断，正在重连…`, true);
    else if (s === "connected") say(`${label}：正在识别…`);
  };
}

async function postTurn(callId, turn) {
  const from = state.utterances.length;
  for (let retry = 0; ; retry++) {
    try {
      const r = await api("POST", `/api/v1/calls/${encodeURIComponent(callId)}/utterances`,
                          { speaker: turn.speaker, text: turn.text, wait: false });
      return r.utterance;
    } catch (e) {
      if (e.status && e.status < 500) throw e;
    }
    say("服务器暂时不可用，稍后自动重试…", true);
    await sleep(Math.min(10, 2 ** retry) * 1000);
    try { // the last try may have arrived: do not say it twice
      const snap = await api("GET", `/api/v1/calls/${encodeURIComponent(callId)}`);
      const seen = snap.utterances.slice(from).find((u) => u.speaker === turn.speaker && u.text === turn.text);
      if (seen) return seen;
    } catch { /* still away */ }
  }
}

async function playDemo() {
  const demo = state.demoCalls.find((c) => c.id === $("#demo-select").value);
  if (!demo) return;
  const callId = await ensureCall();
  const label = `演示通话「${demo.title}」`;
  const player = playScript(demo.turns, {
    pace: () => state.pace / Number($("#speed").value || 1),
    partial: (speaker, text, stable) => {
      if (!speaker) { state.partials = {}; } else state.partials[speaker] = { speaker, text, stable };
      renderTranscript(state);
    },
    post: async (turn) => {
      const u = await postTurn(callId, turn);
      if (state.callId === callId && u) {
        if (u.index === state.utterances.length) state.utterances.push(u);
        else if (u.index > state.utterances.length) resync();
      }
      delete state.partials[turn.speaker];
      renderTranscript(state);
      renderForm(state, handlers);
    },
    progress: (i, n) => say(`${label}：第 ${i}/${n} 句`),
  });
  state.source = { label, stop: player.stop };
  drawHeader();
  player.done.then(sourceDone(label), (e) => { say(`${label}中断：${e.message}`, true); state.source = null; draw(); });
}

async function playArrayBuffer(bytes, name) {
  const label = `录音「${name}」`;
  say(`${label}：解码中…`);
  let rec;
  try { rec = await decodeRecording(bytes); } catch {
    say(`${label}无法解码：请使用 WAV、FLAC 或 MP3 文件`, true);
    return;
  }
  const callId = await ensureCall();
  const speed = Number($("#speed").value || 1);
  const ctl = playRecording(callId, rec, {
    speed, monitor: $("#monitor").checked, onStatus: audioStatus(label),
    onError: (d) => say(`${label}：${d}`, true),
    onProgress: (at, total) => say(`${label}${rec.channels.length === 2 ? "（双声道：左坐席 右来电人）" : ""}：${Math.floor(at)}/${Math.floor(total)} 秒 · ${speed}×`),
    onDone: sourceDone(label),
  });
  state.source = { label, stop: () => ctl.stop() };
  drawHeader();
}

async function playFile() {
  const file = $("#file-input").files[0];
  if (!file) return;
  await playArrayBuffer(await file.arrayBuffer(), file.name);
  $("#file-input").value = "";
}

async function playDemoRecording() {
  const name = $("#recording-select").value;
  if (!name) return;
  say(`下载录音「${name}」…`);
  const r = await fetch(`/api/v1/demo/audio/${encodeURIComponent(name)}`);
  if (!r.ok) { say(`无法获取录音「${name}」`, true); return; }
  await playArrayBuffer(await r.arrayBuffer(), name);
}

async function startMic() {
  const speaker = $("#mic-speaker").value;
  const label = `麦克风（${speaker === "agent" ? "坐席" : "来电人"}）`;
  try {
    const callId = await ensureCall();
    let ctl = null;
    ctl = await startMicrophone(callId, speaker, {
      onStatus: audioStatus(label), onError: (d) => say(`${label}：${d}`, true), onDone: sourceDone(label),
      onProgress: (s) => { if (ctl && state.source && state.source.ctl === ctl) say(`${label}：通话中 ${Math.floor(s)} 秒`); },
    });
    state.source = { label, ctl, stop: () => ctl.stop() };
    say(`${label}：请讲话…`);
  } catch (e) {
    say(e.name === "NotAllowedError" ? "未获得麦克风权限：请在浏览器地址栏允许使用麦克风" : `${label}无法启动：${e.message}`, true);
  }
  drawHeader();
}

async function loadRecordings() {
  const select = $("#recording-select");
  let files = [];
  try { files = (await api("GET", "/api/v1/demo/audio")).files; } catch { files = []; }
  const opts = files.map((f) => {
    const o = document.createElement("option");
    o.value = f.name;
    o.textContent = f.duration_s ? `${f.name}（${Math.round(f.duration_s)} 秒）` : f.name;
    return o;
  });
  if (!opts.length) {
    const o = document.createElement("option");
    o.value = "";
    o.textContent = "无演示录音";
    select.title = "服务器未配置演示录音目录（COPILOT_DEMO_AUDIO_DIR）";
    opts.push(o);
  }
  select.replaceChildren(...opts);
  drawHeader();
}

async function loadDemos() {
  state.demoCalls = await loadDemoCalls().catch(() => []);
  $("#demo-select").replaceChildren(...state.demoCalls.map((c) => {
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = c.title;
    o.title = c.summary || "";
    return o;
  }));
}

// ---- wiring --------------------------------------------------------------------------------

function guard(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((e) => say(e.message || String(e), true));
}

function wire() {
  buildFields(handlers);
  $("#new-call").addEventListener("click", guard(newCall));
  $("#end-call").addEventListener("click", guard(async () => {
    stopSource();
    const snap = await api("POST", `/api/v1/calls/${encodeURIComponent(state.callId)}/end`);
    takeSnapshot(snap);
    draw();
  }));
  $("#demo-play").addEventListener("click", guard(playDemo));
  $("#recording-play").addEventListener("click", guard(playDemoRecording));
  $("#recording-select").addEventListener("change", drawHeader);
  $("#file-input").addEventListener("change", guard(playFile));
  $("#mic-start").addEventListener("click", guard(startMic));
  $("#stop").addEventListener("click", () => { stopSource(); say("已停止"); });
  $("#say-form").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const text = $("#say-text").value.trim();
    if (!text) return;
    const callId = await ensureCall();
    await api("POST", `/api/v1/calls/${encodeURIComponent(callId)}/utterances`,
              { speaker: $("#say-speaker").value, text, wait: false });
    $("#say-text").value = "";
  }));
  $("#t-content").addEventListener("input", (e) => ticketEdit("content", e.target.value));
  $("#t-request_type").addEventListener("change", (e) => ticketEdit("request_type", e.target.value));
  $("#t-category").addEventListener("change", (e) => ticketEdit("category_code", e.target.value));
  $("#t-unit").addEventListener("input", (e) => ticketEdit("unit", e.target.value));
  // Enter in a field must not file the ticket: only the button does.
  $("#work-order").addEventListener("submit", (ev) => ev.preventDefault());
  $("#file-ticket").addEventListener("click", guard(fileTicket));
  $("#transcript").addEventListener("scroll", () => {
    const list = $("#transcript");
    state.follow = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  });
}

// Test and demonstration hooks.
window.__copilot = {
  state,
  dropEvents(holdMs = 0) { state.holdUntil = Date.now() + holdMs; if (state.events) state.events.close(); },
  setPace(p) { state.pace = p; },
};

wire();
draw();
loadDemos();
loadRecordings();
const wanted = new URL(location.href).searchParams.get("call") || localStorage.getItem(CALL_KEY);
if (wanted) setCall(wanted);
