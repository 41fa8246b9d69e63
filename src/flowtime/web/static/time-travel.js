// FlowTime time-travel view: loads /state_window in chunks, repaints node colours per bin, drives the inspector.
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("tt-config").textContent);
  var svg = document.getElementById("topology");
  var slider = document.getElementById("scrubber");
  var label = document.getElementById("bin-label");
  var statusBox = document.getElementById("tt-status");
  var playButton = document.querySelector("[data-play]");
  var speedSelect = document.querySelector("[data-speed]");
  var inspector = document.getElementById("inspector");
  var stateWarnings = document.getElementById("state-warnings");
  var palette = cfg.palette;
  var chunkSize = Math.max(1, cfg.windowMax);
  var chunks = new Map();
  var current = -1;
  var selected = null;
  var timer = null;
  var charts = [];
  // Warnings the page already lists (run.json and capture warnings) are not repeated from /state_window.
  var seenWarnings = new Set(Array.prototype.map.call(
    document.querySelectorAll("[data-warning-key]"), function (li) { return li.dataset.warningKey; }));
  var paintedStart = -1;

  var LABELS = {
    arrivals: "Arrivals", served: "Served", errors: "Errors", externalDemand: "External demand", queue: "Queue depth",
    capacity: "Capacity", utilization: "Utilization", latencyMinutes: "Latency (min)", throughputRatio: "Throughput ratio"
  };
  var CHART_COLOURS = {
    arrivals: "#0072B2", served: "#009E73", errors: "#D55E00", externalDemand: "#56B4E9", queue: "#CC79A7",
    capacity: "#000000", utilization: "#E69F00", latencyMinutes: "#CC79A7", throughputRatio: "#0072B2"
  };
  var QUEUE_KINDS = ["queue", "dlq", "servicewithbuffer"];

  var nodes = [];
  if (svg) {
    svg.querySelectorAll(".node").forEach(function (g) {
      nodes.push({
        id: g.dataset.node, layer: +g.dataset.layer, slot: +g.dataset.slot, g: g,
        kind: g.dataset.kind,
        fill: g.querySelector(".node-fill"), pattern: g.querySelector(".node-pattern"),
        glyph: g.querySelector(".node-glyph"), metric: g.querySelector(".node-metric"),
        status: g.querySelector(".node-status")
      });
    });
  }

  function formatValue(v) {
    if (v === null || v === undefined) return "—";
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toFixed(4)));
  }

  function keyMetric(kind, series, i) {
    var isQueue = QUEUE_KINDS.indexOf(String(kind).toLowerCase()) >= 0;
    if (isQueue && series.latencyMinutes) {
      var lat = series.latencyMinutes[i];
      return lat === null || lat === undefined ? "latency —" : "latency " + Number(lat.toFixed(1)) + " min";
    }
    if (series.utilization) {
      var u = series.utilization[i];
      return u === null || u === undefined ? "util —" : "util " + Math.round(u * 100) + " %";
    }
    return "util — no capacity";
  }

  function setStatus(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("error", !!isError);
  }

  function chunkOf(bin) { return Math.floor(bin / chunkSize); }

  function indexWindow(body) {
    var byId = new Map();
    body.nodes.forEach(function (n) { byId.set(n.id, n); });
    return { start: body.window.startBin, end: body.window.endBin, timestamps: body.timestampsUtc, nodes: byId, body: body };
  }

  function loadChunk(k) {
    var existing = chunks.get(k);
    if (existing) return existing.promise;
    var start = k * chunkSize;
    var end = Math.min(cfg.bins, start + chunkSize) - 1;
    var entry = { data: null, promise: null };
    entry.promise = fetch(cfg.stateWindowUrl + "?startBin=" + start + "&endBin=" + end, { headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.json().catch(function () { return null; }).then(function (body) {
          if (!resp.ok) throw new Error(body && body.error ? body.error : "The state request failed (HTTP " + resp.status + ").");
          return body;
        });
      })
      .then(function (body) { entry.data = indexWindow(body); addWarnings(body); return entry.data; })
      .catch(function (err) { chunks.delete(k); throw err; });
    chunks.set(k, entry);
    return entry.promise;
  }

  function addWarnings(body) {
    var all = (body.warnings || []).slice();
    body.nodes.forEach(function (n) { ((n.telemetry && n.telemetry.warnings) || []).forEach(function (w) { all.push(w); }); });
    all.forEach(function (w) {
      var key = [w.code, w.nodeId || "", noPaths(w.message)].join("|");
      if (seenWarnings.has(key)) return;
      seenWarnings.add(key);
      var li = document.createElement("li");
      li.className = "warning";
      li.dataset.warningKey = key;
      li.innerHTML = '<span class="warning-glyph" aria-hidden="true">⚠</span> <code></code> <span></span>';
      li.querySelector("code").textContent = w.code;
      li.querySelector("span:last-child").textContent = noPaths(w.message) + (w.nodeId ? " · node " + w.nodeId : "") +
        (w.bins && w.bins.length ? " · bins " + w.bins.join(", ") : "");
      stateWarnings.appendChild(li);
      var empty = document.querySelector("#warnings-title ~ [data-warnings-empty]");
      if (empty) empty.hidden = true;
    });
  }

  function timeRange(data, i) {
    var start = data.timestamps[i];
    if (!start) return "";
    var t = new Date(start);
    var end = new Date(t.getTime() + cfg.binMinutes * 60000);
    var fmt = function (d) { return d.toISOString().slice(0, 16).replace("T", " "); };
    var endText = fmt(end);
    if (endText.slice(0, 10) === fmt(t).slice(0, 10)) endText = endText.slice(11);
    return fmt(t) + "–" + endText + " UTC";
  }

  function paint(data) {
    var i = current - data.start;
    nodes.forEach(function (n) {
      var state = data.nodes.get(n.id);
      var colour = state && state.colors ? state.colors[i] : "gray";
      var st = palette[colour] || palette.gray;
      var metric = state ? keyMetric(state.kind, state.series, i) : "no data";
      n.fill.setAttribute("fill", st.hex);
      n.pattern.setAttribute("fill", "url(#" + st.pattern + ")");
      n.glyph.textContent = st.glyph;
      n.metric.textContent = metric;
      n.status.textContent = st.word + " · " + n.kind;
      n.g.dataset.color = colour;
      n.g.setAttribute("class", "node status-" + st.color);
      n.g.setAttribute("aria-label", n.id + ", " + n.kind + ": " + st.word + ", " + metric);
    });
    var range = timeRange(data, i);
    var text = "Bin " + (current + 1) + " of " + cfg.bins + (range ? " · " + range : "");
    label.textContent = text;
    slider.setAttribute("aria-valuetext", text);
    if (selected && data.start !== paintedStart) select(selected);
    else if (selected) paintInspector(data, i);
    paintedStart = data.start;
    if (svg) svg.dataset.bin = String(current);
  }

  function setBin(bin) {
    bin = Math.max(0, Math.min(cfg.bins - 1, bin | 0));
    if (bin === current) return Promise.resolve();
    current = bin;
    slider.value = String(bin);
    var k = chunkOf(bin);
    var entry = chunks.get(k);
    if (entry && entry.data) {
      paint(entry.data);
      prefetch(bin);
      return Promise.resolve();
    }
    setStatus("Loading bins " + (k * chunkSize + 1) + "–" + Math.min(cfg.bins, (k + 1) * chunkSize) + "…");
    if (svg) svg.setAttribute("aria-busy", "true");
    return loadChunk(k).then(function (data) {
      if (svg) svg.removeAttribute("aria-busy");
      setStatus(nodes.length + " nodes · bins " + (data.start + 1) + "–" + (data.end + 1) + " of " + cfg.bins + " loaded");
      if (chunkOf(current) === k) paint(data);
    }, function (err) {
      if (svg) svg.removeAttribute("aria-busy");
      setStatus("Error: " + err.message, true);
    });
  }

  function prefetch(bin) {
    var k = chunkOf(bin);
    if (bin - k * chunkSize > chunkSize * 0.8 && (k + 1) * chunkSize < cfg.bins && !chunks.has(k + 1)) {
      loadChunk(k + 1).catch(function () { /* shown when that chunk is needed */ });
    }
  }

  function currentData() {
    var entry = chunks.get(chunkOf(current));
    return entry && entry.data;
  }

  // ----- inspector -------------------------------------------------------------------------------------

  function paintInspector(data, i) {
    var state = data.nodes.get(selected);
    var body = inspector.querySelector("[data-inspector-metrics]");
    body.textContent = "";
    if (!state) return;
    var st = palette[state.colors[i]] || palette.gray;
    var rows = [["Status", st.glyph + " " + st.word, state.colors[i]]];
    Object.keys(state.series).forEach(function (key) {
      rows.push([LABELS[key] || key, formatValue(state.series[key][i]), state.series[key][i]]);
    });
    rows.forEach(function (r, idx) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = r[0];
      var td = document.createElement("td");
      td.textContent = r[1];
      td.dataset.metric = idx === 0 ? "color" : Object.keys(state.series)[idx - 1];
      td.dataset.value = r[2] === null || r[2] === undefined ? "null" : String(r[2]);
      tr.appendChild(th);
      tr.appendChild(td);
      body.appendChild(tr);
    });
    charts.forEach(function (c) { c.redraw(false, false); });
  }

  function select(id) {
    selected = id;
    nodes.forEach(function (n) { n.g.setAttribute("aria-pressed", n.id === id ? "true" : "false"); });
    var empty = inspector.querySelector("[data-inspector-empty]");
    var body = inspector.querySelector("[data-inspector-body]");
    empty.hidden = !!id;
    body.hidden = !id;
    destroyCharts();
    if (!id) return;
    var node = nodes.find(function (n) { return n.id === id; });
    inspector.querySelector("[data-inspector-node]").textContent = id + " (" + (node ? node.kind : "") + ")";
    var data = currentData();
    if (!data) return;
    var state = data.nodes.get(id);
    var sources = inspector.querySelector("[data-inspector-sources]");
    var warnings = inspector.querySelector("[data-inspector-warnings]");
    sources.textContent = "";
    warnings.textContent = "";
    var telemetry = (state && state.telemetry) || { sources: [], warnings: [] };
    if (!telemetry.sources.length) appendItem(sources, "None (simulation series or unresolved).");
    telemetry.sources.forEach(function (s) { appendItem(sources, noPaths(s)); });
    if (!telemetry.warnings.length) appendItem(warnings, "No warnings in the loaded window.");
    telemetry.warnings.forEach(function (w) {
      appendItem(warnings, w.code + ": " + noPaths(w.message) + (w.bins ? " (bins " + w.bins.join(", ") + ")" : ""));
    });
    paintInspector(data, current - data.start);
    buildCharts(data);
  }

  // The UI never shows a directory path: the same two patterns as the pages' no_paths filter cut absolute
  // file URIs and paths (not file://telemetry/… or relative names) to their file name.
  function noPaths(text) {
    return String(text)
      .replace(/file:\/\/\/(?:[^\s'"\/]+\/)*/g, "file: …/")
      .replace(/(?<![\w\/:.])\/(?:[^\s'"\/]+\/)+/g, "…/");
  }

  function appendItem(list, text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  }

  function destroyCharts() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    inspector.querySelector("[data-inspector-charts]").textContent = "";
  }

  function buildCharts(data) {
    destroyCharts();
    var state = selected && data.nodes.get(selected);
    if (!state || typeof uPlot === "undefined") return;
    var box = inspector.querySelector("[data-inspector-charts]");
    var xs = data.timestamps.map(function (t) { return Date.parse(t) / 1000; });
    var width = Math.max(220, box.clientWidth - 8);
    Object.keys(state.series).forEach(function (key) {
      var ys = state.series[key];
      if (!ys.some(function (v) { return v !== null; })) return;
      var figure = document.createElement("figure");
      figure.className = "chart";
      figure.setAttribute("aria-label", (LABELS[key] || key) + " over the loaded bins");
      var caption = document.createElement("figcaption");
      caption.className = "chart-title";
      caption.textContent = LABELS[key] || key;
      figure.appendChild(caption);
      box.appendChild(figure);
      var opts = {
        width: width, height: 90, legend: { show: false }, cursor: { show: false },
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
        scales: { x: { time: true } },
        axes: [
          { size: 24, font: "10px sans-serif", values: function (u, splits) { return splits.map(hhmm); } },
          { size: 40, font: "10px sans-serif" }
        ],
        series: [{}, { stroke: CHART_COLOURS[key] || "#0072B2", width: 1.5, points: { show: xs.length < 60 } }],
        hooks: { draw: [function (u) { drawMarker(u, xs); }] }
      };
      charts.push(new uPlot(opts, [xs, ys], figure));
    });
  }

  function hhmm(ts) { return new Date(ts * 1000).toISOString().slice(11, 16); }

  function drawMarker(u, xs) {
    var data = currentData();
    if (!data) return;
    var x = xs[current - data.start];
    if (x === undefined) return;
    var px = Math.round(u.valToPos(x, "x", true));
    var ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(px, u.bbox.top);
    ctx.lineTo(px, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  }

  // ----- controls --------------------------------------------------------------------------------------

  function play(on) {
    if (timer) { clearInterval(timer); timer = null; }
    if (on) {
      if (current >= cfg.bins - 1) setBin(0);
      timer = setInterval(function () {
        if (current >= cfg.bins - 1) { play(false); return; }
        setBin(current + 1);
      }, 1000 / Math.max(0.1, +speedSelect.value));
    }
    playButton.setAttribute("aria-pressed", on ? "true" : "false");
    playButton.setAttribute("aria-label", on ? "Pause" : "Play");
    playButton.textContent = on ? "⏸ Pause" : "▶ Play";
  }

  function moveFocus(from, key) {
    var target = null;
    if (key === "ArrowUp" || key === "ArrowDown") {
      var sameLayer = nodes.filter(function (n) { return n.layer === from.layer; });
      target = sameLayer.find(function (n) { return n.slot === from.slot + (key === "ArrowDown" ? 1 : -1); });
    } else {
      var layer = from.layer + (key === "ArrowRight" ? 1 : -1);
      var candidates = nodes.filter(function (n) { return n.layer === layer; });
      candidates.sort(function (a, b) { return Math.abs(a.slot - from.slot) - Math.abs(b.slot - from.slot); });
      target = candidates[0];
    }
    if (target) target.g.focus();
  }

  function onKey(event) {
    var t = event.target;
    var tag = t.tagName;
    if (event.key === "Escape" && selected) { select(null); return; }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var node = t.closest && t.closest(".node");
    if (node) {
      var from = nodes.find(function (n) { return n.g === node; });
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(selected === from.id ? null : from.id);
      } else if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(event.key) >= 0) {
        event.preventDefault();
        moveFocus(from, event.key);
      }
      return;
    }
    if (tag === "SELECT" || tag === "BUTTON" || tag === "TEXTAREA" || (tag === "INPUT" && t !== slider)) return;
    if (t === slider) {
      if (event.key === " ") { event.preventDefault(); play(!timer); }
      return;  // the slider handles arrows, Home and End itself
    }
    var steps = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: cfg.bins - 1 };
    if (event.key in steps) { event.preventDefault(); setBin(steps[event.key]); }
    else if (event.key === " ") { event.preventDefault(); play(!timer); }
  }

  slider.addEventListener("input", function () { setBin(+slider.value); });
  document.querySelectorAll("[data-step]").forEach(function (b) {
    b.addEventListener("click", function () { setBin(current + +b.dataset.step); });
  });
  playButton.addEventListener("click", function () { play(!timer); });
  speedSelect.addEventListener("change", function () { if (timer) play(true); });
  document.addEventListener("keydown", onKey);
  nodes.forEach(function (n) {
    n.g.addEventListener("click", function () { n.g.focus(); select(selected === n.id ? null : n.id); });
  });
  inspector.querySelector("[data-inspector-close]").addEventListener("click", function () { select(null); });
  var runSelect = document.querySelector("[data-run-select]");
  if (runSelect) {
    runSelect.addEventListener("change", function () {
      window.location.href = "/runs/" + encodeURIComponent(runSelect.value) + "/time-travel";
    });
  }

  var params = new URLSearchParams(window.location.search);
  var ready = setBin(parseInt(params.get("bin") || "0", 10) || 0).then(function () {
    if (params.get("node")) select(params.get("node"));
  });
  window.flowtimeTimeTravel = { setBin: setBin, select: select, ready: ready, current: function () { return current; } };
})();
