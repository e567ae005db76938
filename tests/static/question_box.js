// Runs server/static/app.js's question box in Node with a minimal DOM and fetch, and prints
// what a spectator would see after asking: {answer, understood, suggestions} as JSON.
// Usage: node question_box.js APP_JS REPLY_STATUS REPLY_JSON
"use strict";
const fs = require("fs");
const [appPath, status, replyJson] = process.argv.slice(2);

function element(id) {
  return {
    id, textContent: "", children: [], value: "", hidden: false, listeners: {},
    get firstChild() { return this.children[0] || null; },
    removeChild(child) { this.children.splice(this.children.indexOf(child), 1); },
    appendChild(child) { this.children.push(child); return child; },
    setAttribute() {}, getAttribute() { return null; },
    addEventListener(type, fn) { this.listeners[type] = fn; },
  };
}
const ids = ["ask", "question", "answer", "understood", "suggestions", "status"];
const nodes = Object.fromEntries(ids.map((id) => [id, element(id)]));
const loaded = [];
global.window = { location: { pathname: "/events/1" }, setTimeout, clearTimeout };
global.document = {
  body: { getAttribute: () => "question-only" },
  getElementById: (id) => nodes[id] || null,
  createElement: (tag) => element(tag),
  createTextNode: (text) => ({ textContent: text }),
  addEventListener: (type, fn) => loaded.push(fn),
};
global.fetch = async (path, options) => ({
  ok: Number(status) < 400,
  status: Number(status),
  statusText: "",
  json: async () => JSON.parse(replyJson),
});

// app.js starts a page from DOMContentLoaded; call its question box the same way eventPage
// does, without the standings and the live feed (exposed for this harness only).
const source = fs.readFileSync(appPath, "utf8");
new Function(source)();
global.__matchdayAskBox("1");
nodes.question.value = "which teams are still unbeaten?";
nodes.ask.listeners.submit({ preventDefault() {} });
setTimeout(() => {
  console.log(JSON.stringify({
    answer: nodes.answer.textContent,
    understood: nodes.understood.textContent,
    suggestions: nodes.suggestions.children.map((c) => c.textContent),
  }));
}, 50);
