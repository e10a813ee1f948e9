"use strict";
// Every value from the log goes in through textContent: a URL holding
// markup shows as text and runs nothing.
window.addEventListener("error", function (e) {
  document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + ";";
});
// Colours are the shared palette's classes s0…s7 (the page's style).
var PALETTE = 8;
var chosen = null;
var last = null;
var updates = 0;

function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toFixed(1);
  return String(v);
}

function table(id, columns, rows, numeric, bad) {
  var t = document.getElementById(id);
  t.replaceChildren();
  var head = el("tr");
  columns.forEach(function (c) { head.appendChild(el("th", c, numeric.indexOf(c) >= 0 ? "n" : "")); });
  t.appendChild(head);
  if (rows.length === 0) {
    var none = el("tr");
    var cell = el("td", "(none)");
    cell.colSpan = columns.length;
    none.appendChild(cell);
    t.appendChild(none);
  }
  rows.forEach(function (r) {
    var tr = el("tr");
    columns.forEach(function (c) {
      var cls = numeric.indexOf(c) >= 0 ? "n" : (c === "request" || c === "url" || c === "meaning" ? "wrap" : "");
      if (bad && bad(c, r[c], r)) cls += " bad";
      tr.appendChild(el("td", fmt(r[c]), cls));
    });
    t.appendChild(tr);
  });
}

function chart(id, series, key, start) {
  var box = document.getElementById(id);
  var svg = box.querySelector("svg");
  var legend = box.querySelector(".legend");
  svg.replaceChildren();
  legend.replaceChildren();
  var names = Object.keys(series);
  var max = 0, len = 0;
  names.forEach(function (n) {
    series[n][key].forEach(function (v) { if (v !== null && v > max) max = v; });
    len = Math.max(len, series[n][key].length);
  });
  var ns = "http://www.w3.org/2000/svg";
  var w = 600, h = 180, pad = 16;
  var axis = document.createElementNS(ns, "text");
  axis.setAttribute("x", 4); axis.setAttribute("y", 12);
  axis.textContent = String(max);
  svg.appendChild(axis);
  names.forEach(function (n, i) {
    var colour = "s" + (i % PALETTE);
    var points = [];
    series[n][key].forEach(function (v, x) {
      if (v === null) return;
      var px = len > 1 ? x * (w / (len - 1)) : 0;
      var py = max > 0 ? h - pad - (v / max) * (h - 2 * pad) : h - pad;
      points.push(px.toFixed(1) + "," + py.toFixed(1));
    });
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("class", "series-line " + colour);
    line.setAttribute("vector-effect", "non-scaling-stroke");
    line.setAttribute("data-server", n);
    svg.appendChild(line);
    legend.appendChild(el("span", null, "swatch " + colour));
    legend.appendChild(document.createTextNode(n));
  });
  svg.dataset.lines = String(names.length);
}

function render(d) {
  last = d;
  var names = Object.keys(d.windows);
  if (chosen === null || names.indexOf(chosen) < 0) chosen = names[0];
  var buttons = document.getElementById("windows");
  buttons.replaceChildren();
  names.forEach(function (n) {
    var b = el("button", "last " + n, n === chosen ? "on" : "");
    b.addEventListener("click", function () { chosen = n; render(last); });
    buttons.appendChild(b);
  });
  var v = d.windows[chosen];
  var live = v.live;
  var figures = document.getElementById("figures");
  figures.replaceChildren();
  figures.appendChild(el("span", live.requests + " requests (" + fmt(live.requests_per_second) + "/s)"));
  figures.appendChild(el("span", "failed " + live.failed + (live.failed_share === null ? "" : " (" + live.failed_share.toFixed(1) + "%)"), live.failed > 0 ? "bad" : ""));
  figures.appendChild(el("span", "lines " + live.lines + ", unparsed " + live.unparsed_lines));
  figures.appendChild(el("span", "since start " + d.total.live.requests + " requests"));
  figures.appendChild(el("span", "at " + live.time + (live.lag_seconds === null ? "" : ", newest request " + live.lag_seconds + " s ago")));
  table("servers", ["server", "requests", "requests_per_second", "failed", "failed_share", "2xx", "3xx", "4xx", "5xx", "other", "queued", "top_state"],
    v.servers.requests, ["requests", "requests_per_second", "failed", "failed_share", "2xx", "3xx", "4xx", "5xx", "other", "queued"],
    function (c, x) { return c === "failed_share" && x !== null && x >= 5; });
  table("timers", ["server", "timer", "count", "p50", "p90", "p99", "p99_9", "max"], v.servers.timers,
    ["count", "p50", "p90", "p99", "p99_9", "max"]);
  table("states", ["state", "requests", "share", "meaning"], v.termination.states, ["requests", "share"],
    function (c, x, r) { return c === "state" && r.state !== "--"; });
  table("urls", ["url", "requests", "failed"], v.urls.urls, ["requests", "failed"]);
  table("failed", ["time", "server", "status", "state", "tt", "client", "request"], v.failed.requests, ["status", "tt"]);
  if (d.series) {
    chart("chart-requests", d.series.servers, "requests", d.series.start);
    chart("chart-failed", d.series.servers, "failed", d.series.start);
    chart("chart-p99", d.series.servers, "tt_p99", d.series.start);
  }
  updates += 1;
  document.body.dataset.updates = String(updates);
  document.getElementById("state").textContent = "live";
}

var source = new EventSource("events");
source.onmessage = function (e) { render(JSON.parse(e.data)); };
source.onerror = function () { document.getElementById("state").textContent = "reconnecting…"; };
