/*
 * Asistent pentru politica de confidențialitate: the embeddable chat widget.
 *
 *   <script src="https://HOST/widget.js" data-policy="onedu" defer></script>
 *
 * Plain JavaScript, no framework, no build step. Everything lives in an open
 * shadow root, so the host page's CSS cannot reach in and ours cannot leak out.
 * Answers are built with textContent only (never innerHTML with data), links
 * only to http(s) addresses. Nothing is stored: the conversation lives in this
 * page's memory and is gone on reload.
 *
 * Optional attributes: data-policy (which policy, default the API's first),
 * data-title (panel heading), data-k (passages per answer, 1-10, default 3).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__ppWidgetLoaded) { return; }
  window.__ppWidgetLoaded = true;

  var API = new URL(script.src, location.href).origin;
  var POLICY = script.getAttribute("data-policy") || null;
  var TITLE = script.getAttribute("data-title") || "Întrebări despre datele dvs.";
  var K = Math.min(10, Math.max(1, parseInt(script.getAttribute("data-k") || "3", 10) || 3));
  var MAX_CHARS = 2000;

  var CSS = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    ".pp { font: 16px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #1b1b1b; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: flex; gap: 8px;",
    "  align-items: center; padding: 12px 18px; border: 0; border-radius: 999px; background: #0b4f8a; color: #fff;",
    "  font: inherit; font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    ".launcher:hover { background: #093f6e; }",
    "button:focus-visible, textarea:focus-visible, a:focus-visible, summary:focus-visible {",
    "  outline: 3px solid #f2a900; outline-offset: 2px; }",
    ".panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483001; width: 400px; max-width: calc(100vw - 40px);",
    "  height: 600px; max-height: calc(100vh - 110px); display: flex; flex-direction: column; background: #fff;",
    "  border: 1px solid #c9d3de; border-radius: 12px; box-shadow: 0 10px 30px rgba(0,0,0,.25); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px;",
    "  background: #0b4f8a; color: #fff; }",
    "h2 { margin: 0; font-size: 17px; font-weight: 600; }",
    ".close { border: 0; background: transparent; color: #fff; font: inherit; font-size: 22px; line-height: 1;",
    "  padding: 4px 10px; border-radius: 6px; cursor: pointer; min-width: 44px; min-height: 44px; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px 14px; }",
    ".intro { margin: 0 0 8px; color: #333; font-size: 15px; }",
    ".examples { display: flex; flex-direction: column; gap: 6px; margin: 0 0 12px; padding: 0; list-style: none; }",
    ".examples button { width: 100%; text-align: left; padding: 8px 10px; border: 1px solid #0b4f8a; border-radius: 8px;",
    "  background: #f3f8fd; color: #0b4f8a; font: inherit; font-size: 15px; cursor: pointer; min-height: 44px; }",
    ".q { margin: 12px 0 6px auto; max-width: 85%; width: fit-content; padding: 8px 12px; border-radius: 12px 12px 2px 12px;",
    "  background: #e8eef5; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".a { margin: 6px 0 14px; }",
    "blockquote { margin: 6px 0; padding: 8px 12px; border-left: 4px solid #0b4f8a; background: #f7f9fb;",
    "  white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".cite { margin: 2px 0 8px; font-size: 14px; color: #333; }",
    ".cite a, .contact a { color: #0b4f8a; text-decoration: underline; overflow-wrap: anywhere; }",
    ".msg { margin: 6px 0; font-weight: 600; }",
    ".contact { margin: 6px 0; font-size: 14px; color: #333; }",
    ".error { margin: 6px 0; color: #8a1010; }",
    "details { margin: 6px 0; } summary { cursor: pointer; color: #0b4f8a; font-size: 15px; min-height: 32px; }",
    "form { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid #c9d3de; background: #fafbfc; }",
    "label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    "textarea { flex: 1; min-height: 44px; max-height: 120px; resize: vertical; padding: 8px 10px; font: inherit;",
    "  border: 1px solid #6b7785; border-radius: 8px; color: #1b1b1b; background: #fff; }",
    ".send { padding: 0 16px; border: 0; border-radius: 8px; background: #0b4f8a; color: #fff; font: inherit;",
    "  font-weight: 600; cursor: pointer; min-height: 44px; }",
    ".send[disabled] { background: #5b6b7b; cursor: wait; }",
    ".note { margin: 0; padding: 4px 12px 8px; font-size: 12px; color: #4a4a4a; background: #fafbfc; }",
    "@media (max-width: 520px) {",
    "  .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%; border-radius: 0; }",
    "  .launcher { right: 12px; bottom: 12px; }",
    "}"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function safeUrl(url) {
    try {
      var parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) { return null; }
  }

  function contactNode(contact) {
    var email = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(contact);
    var href = email ? "mailto:" + contact : safeUrl(contact);
    if (!href) { return document.createTextNode(contact); }
    return el("a", {href: href, target: email ? "_self" : "_blank", rel: "noopener noreferrer"}, contact);
  }

  // -- the DOM ---------------------------------------------------------------------------------
  var host = el("div", {id: "pp-asistent-confidentialitate", lang: "ro"});
  var root = host.attachShadow({mode: "open"});
  var style = el("style");
  style.textContent = CSS;
  var wrap = el("div", {"class": "pp", lang: "ro"});

  var launcher = el("button", {"class": "launcher", type: "button", "aria-expanded": "false",
                               "aria-controls": "pp-panel"});
  launcher.appendChild(el("span", {"aria-hidden": "true"}, "?"));
  launcher.appendChild(el("span", null, TITLE));

  var panel = el("section", {"class": "panel", id: "pp-panel", role: "dialog", "aria-modal": "false",
                             "aria-labelledby": "pp-title", hidden: ""});
  var header = el("header");
  header.appendChild(el("h2", {id: "pp-title"}, TITLE));
  var close = el("button", {"class": "close", type: "button", "aria-label": "Închide asistentul"}, "×");
  header.appendChild(close);

  var log = el("div", {"class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
                       "aria-label": "Conversația", tabindex: "0"});
  log.appendChild(el("p", {"class": "intro"},
    "Întrebați despre felul în care sunt folosite și protejate datele dvs. personale. Răspunsurile sunt " +
    "citate cuvânt cu cuvânt din politica de confidențialitate, cu trimitere la secțiune."));
  var examples = el("ul", {"class": "examples", "aria-label": "Întrebări-exemplu"});
  log.appendChild(examples);

  var form = el("form", {"aria-label": "Trimiteți o întrebare"});
  var label = el("label", {"for": "pp-q"}, "Întrebarea dvs.");
  var input = el("textarea", {id: "pp-q", rows: "1", maxlength: String(MAX_CHARS),
                              placeholder: "Scrieți întrebarea…", autocomplete: "off"});
  var send = el("button", {"class": "send", type: "submit"}, "Întreabă");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  var note = el("p", {"class": "note"}, "Întrebările nu sunt salvate. Enter trimite, Shift+Enter rând nou, Esc închide.");

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);
  panel.appendChild(note);
  wrap.appendChild(launcher);
  wrap.appendChild(panel);
  root.appendChild(style);
  root.appendChild(wrap);

  // -- behaviour -------------------------------------------------------------------------------
  var loadedExamples = false;

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
    if (!loadedExamples) { loadedExamples = true; loadExamples(); }
  }

  function shut() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function loadExamples() {
    fetch(API + "/v1/policies", {credentials: "omit"}).then(function (r) { return r.ok ? r.json() : []; })
      .then(function (policies) {
        var policy = policies.filter(function (p) { return !POLICY || p.name === POLICY; })[0];
        (policy && policy.examples || []).forEach(function (question) {
          var item = el("li");
          var button = el("button", {type: "button"}, question);
          button.addEventListener("click", function () { ask(question); });
          item.appendChild(button);
          examples.appendChild(item);
        });
      }).catch(function () { /* examples are a convenience; asking still works */ });
  }

  function showQuote(parent, quote) {
    var block = el("blockquote", {lang: "ro"}, quote.quote);
    parent.appendChild(block);
    var cite = el("p", {"class": "cite"});
    cite.appendChild(document.createTextNode("Sursa: "));
    var href = quote.url ? safeUrl(quote.url) : null;
    if (href) {
      cite.appendChild(el("a", {href: href, target: "_blank", rel: "noopener noreferrer"}, quote.citation));
    } else {
      cite.appendChild(el("cite", null, quote.citation));
    }
    parent.appendChild(cite);
  }

  function contactLine(parent, answer) {
    var line = el("p", {"class": "contact"});
    if (answer.contact) {
      line.appendChild(document.createTextNode("Nu ați găsit răspunsul? Scrieți-ne: "));
      line.appendChild(contactNode(answer.contact));
    } else {
      line.textContent = answer.contact_line;
    }
    parent.appendChild(line);
  }

  function render(answer) {
    var box = el("div", {"class": "a"});
    if (answer.abstained) {
      box.appendChild(el("p", {"class": "msg"}, answer.message));
      contactLine(box, answer);
    } else {
      box.appendChild(el("p", {"class": "intro"}, "Iată ce spune politica de confidențialitate:"));
      if (answer.answers.length) { showQuote(box, answer.answers[0]); }
      if (answer.answers.length > 1) {
        var more = el("details");
        more.appendChild(el("summary", null, "Alte pasaje relevante (" + (answer.answers.length - 1) + ")"));
        answer.answers.slice(1).forEach(function (q) { showQuote(more, q); });
        box.appendChild(more);
      }
      contactLine(box, answer);
    }
    return box;
  }

  function ask(question) {
    question = question.trim();
    if (!question || send.disabled) { return; }
    log.appendChild(el("p", {"class": "q", "aria-label": "Întrebarea dvs."}, question));
    var pending = el("p", {"class": "a", role: "status"}, "Se caută răspunsul…");
    log.appendChild(pending);
    log.scrollTop = log.scrollHeight;
    send.disabled = true;
    input.value = "";
    var body = {question: question, k: K};
    if (POLICY) { body.policy = POLICY; }
    fetch(API + "/v1/ask", {method: "POST", credentials: "omit", headers: {"Content-Type": "application/json"},
                            body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      })
      .then(function (result) {
        var node = result.ok ? render(result.data)
          : el("p", {"class": "error"}, (result.data.error && result.data.error.message) || "Cererea nu a reușit.");
        log.replaceChild(node, pending);
      })
      .catch(function () {
        log.replaceChild(el("p", {"class": "error"},
          "Nu ne-am putut conecta la asistent. Verificați conexiunea și încercați din nou."), pending);
      })
      .then(function () {
        send.disabled = false;
        var questions = log.querySelectorAll(".q");
        var last = questions[questions.length - 1];
        if (last) { log.scrollTop = last.offsetTop - log.offsetTop - 8; }   // the question, then its answer
        input.focus();
      });
  }

  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { shut(); } });
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); shut(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); ask(input.value); }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); ask(input.value); });

  function mount() { document.body.appendChild(host); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
