/* Copydesk report: the cluster pages. data/index.js lists the clusters (for the search box);
   data/clusters-NNNN.js holds a page of them in full and is loaded when one of its clusters is
   opened. Article text is put into the page as text nodes, never as HTML. */
"use strict";
var INDEX = [];
var PAGES = {};
var WAITING = {};
var SHOWN = 50;

function copydeskIndex(rows) { INDEX = rows; }
function copydeskPage(n, clusters) {
  PAGES[n] = clusters;
  (WAITING[n] || []).forEach(function (f) { f(); });
  delete WAITING[n];
}

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) { if (c) node.appendChild(c); });
  return node;
}

function loadPage(n, then) {
  if (PAGES[n]) { then(); return; }
  if (WAITING[n]) { WAITING[n].push(then); return; }
  WAITING[n] = [then];
  var s = document.createElement("script");
  s.src = "data/clusters-" + String(n).padStart(4, "0") + ".js";
  document.body.appendChild(s);
}

function matches(row, q) {
  if (!q) return true;
  if ((row[2] || "").toLowerCase().indexOf(q) >= 0) return true;
  if (row[0].indexOf(q) === 0) return true;
  return row[5].some(function (id) { return id.indexOf(q) === 0; });
}

function listResults() {
  var q = document.getElementById("search").value.trim().toLowerCase();
  var list = document.getElementById("results");
  list.textContent = "";
  var found = INDEX.filter(function (r) { return matches(r, q); });
  found.slice(0, SHOWN).forEach(function (r) {
    var li = el("li", { "data-id": r[0] }, [
      el("span", { text: r[2] || "(no title)" }),
      el("small", { text: r[1] + " articles · " + (r[3] || "?") + " · " + r[0] }),
    ]);
    if (location.hash.slice(1) === r[0]) li.className = "current";
    li.addEventListener("click", function () { location.hash = r[0]; });
    list.appendChild(li);
  });
  document.getElementById("count").textContent =
    found.length + " of " + INDEX.length + " clusters" + (found.length > SHOWN ? " (first " + SHOWN + " shown)" : "");
}

function words(original, i, j) { return original.words.slice(i, j).join(" ").replace(/ ?\n\n ?/g, "\n\n"); }

function diffNode(original, ops) {
  var box = el("div", { class: "text" });
  ops.forEach(function (op, k) {
    var sep = k > 0 && !/\n$/.test(box.textContent) ? " " : "";
    if (sep) box.appendChild(document.createTextNode(sep));
    if (op[0] === "=") box.appendChild(kept(original, op[1], op[2]));
    else if (op[0] === "+") {
      var parts = /^(\s*)([\s\S]*?)(\s*)$/.exec(op[1]);  /* the paragraph breaks around it stay plain */
      box.appendChild(document.createTextNode(parts[1]));
      box.appendChild(el("ins", { class: "added", title: "added by this copy", text: parts[2] }));
      box.appendChild(document.createTextNode(parts[3]));
    }
    else if (op[0] === "-") box.appendChild(el("del", { class: "dropped", title: "not in this copy", text: words(original, op[1], op[2]) }));
    else box.appendChild(el("span", { class: "edit", title: "edited" }, [
      el("del", { text: words(original, op[1], op[2]) }), document.createTextNode(" "), el("ins", { text: op[3] }),
    ]));
  });
  return box;
}

/* A long run kept as in the original is folded to its first and last words, so what a copy
   added or cut is seen at a glance; a click unfolds it. */
var FOLD = 80, EDGE = 24;
function kept(original, i, j) {
  if (j - i <= FOLD) return document.createTextNode(words(original, i, j));
  var span = el("span", { class: "kept" });
  var more = el("button", { class: "fold", type: "button", title: "show the words kept as in the original",
    text: "… " + (j - i - 2 * EDGE) + " words as in the original …" });
  more.addEventListener("click", function () { span.textContent = words(original, i, j); });
  span.appendChild(document.createTextNode(words(original, i, i + EDGE) + " "));
  span.appendChild(more);
  span.appendChild(document.createTextNode(" " + words(original, j - EDGE, j)));
  return span;
}

function pct(x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + "%"; }

function articleHead(a, relation, facts) {
  var link = a.url ? el("a", { href: a.url, text: a.source || a.id, target: "_blank", rel: "noopener" }) : el("span", { text: a.source || a.id });
  return el("header", {}, [
    el("h3", {}, [el("span", { class: "rel rel-" + relation, text: relation.replace("_", " ") }), document.createTextNode(" "), link,
      document.createTextNode(" — " + (a.title || "(no title)"))]),
    el("div", { class: "facts", text: [a.published || "time unknown", "id " + a.id].concat(facts).join(" · ") }),
  ]);
}

function showCluster(c) {
  var pane = document.getElementById("cluster");
  pane.textContent = "";
  var o = c.original;
  pane.appendChild(el("h2", { text: (o.title || "(no title)") }));
  pane.appendChild(el("p", { class: "muted", text: "Cluster " + c.id + " · " + c.size + " articles · original from " + (o.source || "?") }));
  pane.appendChild(el("div", { class: "legend" }, [
    el("span", {}, [el("ins", { class: "added", text: "added by the copy" })]),
    el("span", {}, [el("del", { class: "dropped", text: "not kept by the copy" })]),
    el("span", { class: "edit" }, [el("del", { text: "original" }), document.createTextNode(" "), el("ins", { text: "edit" })]),
  ]));
  var orig = el("article", { class: "article original", "data-id": o.id }, [
    articleHead(o, "original", [o.words.filter(function (w) { return w !== "\n\n"; }).length + " words"]),
    el("div", { class: "text", text: words(o, 0, o.words.length) }),
  ]);
  pane.appendChild(orig);
  c.members.forEach(function (m) {
    var n = m.counts;
    var facts = ["containment " + pct(m.containment), "jaccard " + pct(m.jaccard)];
    if (m.kept !== null && m.kept !== undefined) facts.push("keeps " + pct(m.kept) + " of the original");
    facts.push(n.kept + " words kept, " + n.added + " added, " + n.dropped + " not kept, " + n.edited + " edited");
    pane.appendChild(el("article", { class: "article member", "data-id": m.id, "data-relation": m.relation }, [
      articleHead(m, m.relation, facts), diffNode(o, m.ops),
    ]));
  });
  Array.prototype.forEach.call(document.querySelectorAll("#results li"), function (li) {
    li.className = li.getAttribute("data-id") === c.id ? "current" : "";
  });
  pane.setAttribute("data-shown", c.id);
}

function route() {
  var id = decodeURIComponent(location.hash.slice(1));
  var row = INDEX.filter(function (r) { return r[0] === id || r[5].indexOf(id) >= 0; })[0] || (id ? null : INDEX[0]);
  if (!row) {
    var pane = document.getElementById("cluster");
    pane.textContent = "";
    pane.appendChild(el("p", { class: "muted", text: id ? "No page for " + id + ": only the " + INDEX.length + " largest clusters have one." : "No cluster of two or more articles." }));
    pane.setAttribute("data-shown", "");
    return;
  }
  loadPage(row[4], function () {
    showCluster(PAGES[row[4]].filter(function (c) { return c.id === row[0]; })[0]);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.getElementById("search").addEventListener("input", listResults);
  window.addEventListener("hashchange", function () { route(); listResults(); });
  listResults();
  route();
});
