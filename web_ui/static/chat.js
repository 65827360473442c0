"use strict";
// The citizen chat page. Every text from the server or the citizen goes in with textContent.
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const log = $("#log");
  const form = $("#composer");
  const input = $("#message");
  const sendButton = $("#send");
  const note = $("#note");
  let conversationId = null; // a reload starts a new conversation
  let busy = false;
  let pausedUntil = 0;

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(text, who, extraClass) {
    const node = $("#bubble-tpl").content.firstElementChild.cloneNode(true);
    if (who === "me") node.classList.add("me");
    const inner = $(".bubble", node);
    if (extraClass) inner.classList.add(extraClass);
    $(".text", node).textContent = text;
    log.appendChild(node);
    scrollDown();
    return inner;
  }

  function isPhone(text) {
    return /^[0-9+\-\s()（）]{5,20}$/.test(text);
  }

  function citation(c) {
    const dl = $("#citation-tpl").content.firstElementChild.cloneNode(true);
    $(".c-title", dl).textContent = c.title;
    $(".c-id", dl).textContent = `${c.id} · 第${c.version}版`;
    $(".c-unit", dl).textContent = c.unit || "—";
    const contact = $(".c-contact", dl);
    if (c.unit_phone && isPhone(c.unit_phone)) {
      const a = document.createElement("a");
      a.href = "tel:" + c.unit_phone.replace(/[^0-9+]/g, "");
      a.textContent = c.unit_phone;
      contact.appendChild(a);
    } else {
      contact.textContent = c.contact;
    }
    const source = $(".c-source", dl);
    if (c.source) source.textContent = c.source;
    else { source.previousElementSibling.remove(); source.remove(); }
    return dl;
  }

  function options(list) {
    const box = document.createElement("div");
    box.className = "options";
    list.forEach((label, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.dataset.index = String(i + 1);
      b.addEventListener("click", () => {
        if (busy) return;
        for (const other of box.querySelectorAll("button")) other.disabled = true;
        send(label);
      });
      box.appendChild(b);
    });
    return box;
  }

  function calls(lines) {
    const box = document.createElement("div");
    box.className = "calls";
    for (const line of lines) {
      const a = document.createElement("a");
      a.href = "tel:" + line;
      a.textContent = "拨打 " + line;
      box.appendChild(a);
    }
    return box;
  }

  function render(reply) {
    const inner = bubble(reply.text, "bot", reply.kind === "emergency" ? "emergency" : "");
    inner.dataset.kind = reply.kind;
    if (reply.citation) inner.appendChild(citation(reply.citation));
    if (reply.lines && reply.lines.length) inner.appendChild(calls(reply.lines));
    if (reply.options && reply.options.length) inner.appendChild(options(reply.options));
    scrollDown();
  }

  function showNote(text) {
    note.textContent = text;
    note.hidden = !text;
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value || Date.now() < pausedUntil;
  }

  async function send(text) {
    text = text.trim();
    if (!text || busy) return;
    if (Date.now() < pausedUntil) return;
    showNote("");
    bubble(text, "me");
    setBusy(true);
    const typing = bubble("", "bot");
    typing.parentElement.classList.add("typing");
    try {
      const body = { message: text };
      if (conversationId) body.conversation_id = conversationId;
      const r = await fetch("/api/v1/chat", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const data = await r.json().catch(() => ({}));
      typing.parentElement.remove();
      if (!r.ok) {
        const detail = typeof data.detail === "string" ? data.detail : "请求没有成功，请稍后再试。";
        showNote(detail);
        if (r.status === 429) {
          const wait = parseInt(r.headers.get("Retry-After") || "5", 10);
          pausedUntil = Date.now() + wait * 1000;
          setTimeout(() => setBusy(false), wait * 1000 + 50);
        }
        return;
      }
      conversationId = data.conversation_id;
      render(data.reply);
    } catch (e) {
      typing.parentElement.remove();
      showNote("网络连接失败，请检查网络后重试；紧急情况请直接拨打110、119、120或122。");
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    grow();
    send(text);
  });
  input.addEventListener("input", grow);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  async function greet() {
    try {
      const r = await fetch("/api/v1/chat/greeting");
      const g = await r.json();
      input.maxLength = g.max_message_chars;
      render({ kind: "info", text: g.text });
    } catch (e) {
      showNote("服务暂时无法连接；紧急情况请直接拨打110、119、120或122。");
    }
  }
  greet();
})();
