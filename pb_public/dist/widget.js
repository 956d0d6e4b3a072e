/*! Pregón web chat. Embed with:
 *  <script src="https://YOUR-PREGON/widget.js" data-channel="CHANNEL_ID" async></script>
 * No dependencies. Spanish or English from the page's lang (or data-lang).
 * Talks to /api/pregon/webchat/{channel}/… and gets replies over PocketBase
 * realtime (/api/realtime, topic webchat/<visitor>). */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel][src*='widget.js']");
  if (!script || window.__pregonChat) return;
  window.__pregonChat = true;
  var channel = script.getAttribute("data-channel");
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, "");
  var api = base + "/api/pregon/webchat/" + encodeURIComponent(channel);
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var T = {
    es: { open: "Chatea con nosotros", title: "Chat", close: "Cerrar el chat", label: "Mensaje", placeholder: "Escribe un mensaje…",
      send: "Enviar", greeting: "¡Hola! ¿En qué podemos ayudarte?", you: "Tú", them: "Respuesta", failed: "No se pudo enviar. Inténtalo de nuevo.",
      slow: "Vas muy rápido; espera un momento.", unread: "mensajes nuevos" },
    en: { open: "Chat with us", title: "Chat", close: "Close the chat", label: "Message", placeholder: "Type a message…",
      send: "Send", greeting: "Hi! How can we help?", you: "You", them: "Reply", failed: "Could not send. Try again.",
      slow: "You are going too fast; wait a moment.", unread: "new messages" }
  }[lang === "es" ? "es" : "en"];
  var key = "pregon-chat:" + channel;
  var creds = load();
  var items = [];      // {id, client_id, direction, text, state}
  var es = null, unread = 0, opened = false;

  function load() { try { return JSON.parse(localStorage.getItem(key)) || null; } catch (e) { return null; } }
  function save(c) { creds = c; try { c ? localStorage.setItem(key, JSON.stringify(c)) : localStorage.removeItem(key); } catch (e) {} }
  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (text) n.textContent = text;
    return n;
  }
  function rid() {
    var a = new Uint8Array(12); (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- DOM -----------------------------------------------------------
  var css = ".pregon-chat{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;" +
    "font:15px/1.4 system-ui,sans-serif;color:#1b1b1b}" +
    ".pregon-chat *{box-sizing:border-box}" +
    ".pregon-chat button{font:inherit;cursor:pointer}" +
    ".pregon-chat :focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".pregon-launch{border:0;border-radius:2rem;padding:.75rem 1.1rem;background:#0b5cad;color:#fff;box-shadow:0 2px 8px #0004}" +
    ".pregon-badge{display:inline-block;min-width:1.3em;margin-left:.4em;padding:0 .3em;border-radius:1em;background:#fff;color:#0b5cad;font-weight:700}" +
    ".pregon-panel{display:flex;flex-direction:column;width:min(22rem,calc(100vw - 2rem));height:min(30rem,calc(100vh - 6rem));" +
    "margin-bottom:.6rem;background:#fff;border:1px solid #ccc;border-radius:.8rem;box-shadow:0 4px 20px #0003;overflow:hidden}" +
    ".pregon-panel[hidden]{display:none}" +
    ".pregon-head{display:flex;align-items:center;justify-content:space-between;padding:.6rem .8rem;background:#0b5cad;color:#fff}" +
    ".pregon-head h2{margin:0;font-size:1rem}" +
    ".pregon-x{border:0;background:transparent;color:#fff;font-size:1.4rem;line-height:1;padding:0 .3rem}" +
    ".pregon-log{flex:1;overflow-y:auto;margin:0;padding:.8rem;list-style:none;background:#f6f7f9}" +
    ".pregon-log li{max-width:85%;margin:.3rem 0;padding:.45rem .7rem;border-radius:.8rem;white-space:pre-wrap;word-wrap:break-word}" +
    ".pregon-in{margin-left:auto!important;background:#0b5cad;color:#fff}" +
    ".pregon-out{background:#fff;border:1px solid #dde}" +
    ".pregon-note{font-size:.85rem;color:#555;text-align:center;max-width:none!important}" +
    ".pregon-pending{opacity:.7}" +
    ".pregon-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    ".pregon-form{display:flex;gap:.4rem;padding:.6rem;border-top:1px solid #ddd}" +
    ".pregon-form textarea{flex:1;resize:none;height:2.6rem;padding:.5rem;border:1px solid #888;border-radius:.5rem;font:inherit}" +
    ".pregon-form button{border:0;border-radius:.5rem;padding:0 .9rem;background:#0b5cad;color:#fff}" +
    ".pregon-status{min-height:1.2em;margin:0;padding:0 .8rem .4rem;font-size:.85rem;color:#a40000}";
  var root = el("div", { "class": "pregon-chat", lang: lang === "es" ? "es" : "en" });
  root.appendChild(el("style", {}, css));
  var panel = el("section", { "class": "pregon-panel", id: "pregon-panel", role: "dialog", "aria-labelledby": "pregon-title", hidden: "" });
  var head = el("div", { "class": "pregon-head" });
  var title = el("h2", { id: "pregon-title" }, T.title);
  var closeBtn = el("button", { type: "button", "class": "pregon-x", "aria-label": T.close }, "×");
  head.appendChild(title); head.appendChild(closeBtn);
  var log = el("ol", { "class": "pregon-log", role: "log", "aria-live": "polite", "aria-label": T.title });
  var form = el("form", { "class": "pregon-form" });
  var inputLabel = el("label", { "for": "pregon-input", "class": "pregon-sr" }, T.label);
  var input = el("textarea", { id: "pregon-input", name: "text", placeholder: T.placeholder, maxlength: "2000", rows: "1" });
  var sendBtn = el("button", { type: "submit" }, T.send);
  form.appendChild(inputLabel); form.appendChild(input); form.appendChild(sendBtn);
  var status = el("p", { "class": "pregon-status", role: "status" });
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(form); panel.appendChild(status);
  var launch = el("button", { type: "button", "class": "pregon-launch", "aria-expanded": "false", "aria-controls": "pregon-panel" }, T.open);
  var badge = el("span", { "class": "pregon-badge", hidden: "" });
  launch.appendChild(badge);
  root.appendChild(panel); root.appendChild(launch);
  var greeting = T.greeting;

  function render() {
    log.textContent = "";
    log.appendChild(el("li", { "class": "pregon-note" }, greeting));
    items.forEach(function (m) {
      var li = el("li", { "class": (m.direction === "in" ? "pregon-in" : "pregon-out") + (m.state === "pending" ? " pregon-pending" : "") });
      li.appendChild(el("span", { "class": "pregon-sr" }, (m.direction === "in" ? T.you : T.them) + ": "));
      li.appendChild(document.createTextNode(m.text));
      log.appendChild(li);
    });
    log.scrollTop = log.scrollHeight;
  }
  function setUnread(n) {
    unread = n;
    badge.hidden = n === 0;
    badge.textContent = n ? String(n) : "";
    badge.setAttribute("aria-label", n + " " + T.unread);
  }
  function open() {
    opened = true; panel.hidden = false; launch.setAttribute("aria-expanded", "true"); setUnread(0);
    input.focus();
    ensureVisitor().then(function () { connect(); refresh(); }).catch(function () { status.textContent = T.failed; });
  }
  function close() { opened = false; panel.hidden = true; launch.setAttribute("aria-expanded", "false"); launch.focus(); }
  launch.addEventListener("click", function () { panel.hidden ? open() : close(); });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : send(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });

  // ---- API -----------------------------------------------------------
  function call(method, path, body) {
    var h = { "Content-Type": "application/json" };
    if (creds) h["X-Pregon-Visitor-Token"] = creds.token;
    return fetch(api + path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j.__status = r.status; return j; });
    });
  }
  function ensureVisitor() {
    if (creds) return Promise.resolve(creds);
    return call("POST", "/visitors").then(function (j) {
      if (j.__status !== 201) throw new Error("visitor");
      save({ visitor: j.visitor, token: j.token });
      return creds;
    });
  }
  function refresh() {
    if (!creds) return;
    call("GET", "/messages?visitor=" + encodeURIComponent(creds.visitor)).then(function (j) {
      if (j.__status === 401 || j.__status === 403) { save(null); return; }
      if (!j.items) return;
      var known = {};
      j.items.forEach(function (m) { known[m.client_id || m.id] = true; });
      var pending = items.filter(function (m) { return m.direction === "in" && !known[m.client_id]; });
      items = j.items.concat(pending);
      render();
    });
  }
  function send() {
    var text = input.value.trim();
    if (!text) return;
    status.textContent = "";
    var m = { client_id: rid(), direction: "in", text: text, state: "pending" };
    items.push(m); render(); input.value = "";
    post(m, false);
  }
  function post(m, retried) {
    return ensureVisitor().then(function () {
      connect();
      return call("POST", "/messages", { visitor: creds.visitor, id: m.client_id, text: m.text });
    }).then(function (j) {
      if ((j.__status === 401 || j.__status === 403) && !retried) {
        // The channel's secret was rotated: start over as a new visitor.
        save(null); disconnect(); return post(m, true);
      }
      if (j.__status === 429) { status.textContent = T.slow; drop(m); return; }
      if (j.__status !== 202) { status.textContent = T.failed; drop(m); return; }
      m.state = "sent"; render();
    }).catch(function () { status.textContent = T.failed; drop(m); });
  }
  function drop(m) { items = items.filter(function (x) { return x !== m; }); render(); if (!input.value) input.value = m.text; }

  // ---- realtime (PocketBase SSE) ---------------------------------------
  function disconnect() { if (es) { es.close(); es = null; } }
  function connect() {
    if (es || !creds || !window.EventSource) return;
    var topic = "webchat/" + creds.visitor;
    es = new EventSource(base + "/api/realtime");
    es.addEventListener("PB_CONNECT", function (e) {
      var id = JSON.parse(e.data).clientId;
      fetch(base + "/api/realtime", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Pregon-Channel": channel, "X-Pregon-Visitor-Token": creds.token },
        body: JSON.stringify({ clientId: id, subscriptions: [topic] })
      }).then(refresh); // catch up on what arrived while disconnected
    });
    es.addEventListener(topic, function (e) {
      var r = JSON.parse(e.data);
      if (items.some(function (m) { return m.id === r.id; })) return;
      items.push({ id: r.id, direction: "out", text: r.text });
      render();
      if (!opened) setUnread(unread + 1);
    });
  }

  function mount() {
    document.body.appendChild(root);
    render();
    fetch(api + "/config").then(function (r) { return r.json(); }).then(function (c) {
      if (c.title) title.textContent = c.title;
      if (c.greeting) { greeting = c.greeting; render(); }
    }).catch(function () {});
    if (creds) connect();
  }
  document.body ? mount() : document.addEventListener("DOMContentLoaded", mount);
})();
