// The case browser of the HTML release report. Every string from the run log is placed with
// textContent, never parsed as HTML; the data comes from the page's JSON block, nothing is fetched.
(function () {
  "use strict";
  var PAGE = 100;
  var data = JSON.parse(document.getElementById("case-data").textContent);
  var cases = data.cases;
  var labels = data.outcomes;
  var $ = function (id) { return document.getElementById(id); };
  var suite = $("filter-suite"), category = $("filter-category"), outcome = $("filter-outcome");
  var search = $("filter-search"), list = $("case-list"), count = $("case-count");
  var more = $("case-more");
  var shown = [], rendered = 0;

  // What the search looks in: the case key, its input and every answer, lower-cased once.
  var haystacks = cases.map(function (c) {
    var parts = [c.key, c.input || ""];
    c.sides.forEach(function (side) {
      (side.answers || []).forEach(function (a) { parts.push(a.text); });
    });
    return parts.join("\n").toLowerCase();
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function matches(i) {
    var c = cases[i];
    if (suite.value && c.suite !== suite.value) return false;
    if (category.value && c.category !== category.value) return false;
    if (outcome.value && c.outcome !== outcome.value) return false;
    var query = search.value.trim().toLowerCase();
    return !query || haystacks[i].indexOf(query) !== -1;
  }

  function apply() {
    shown = [];
    for (var i = 0; i < cases.length; i++) if (matches(i)) shown.push(i);
    list.textContent = "";
    rendered = 0;
    renderMore();
    count.textContent = shown.length + " of " + cases.length + " cases shown";
  }

  function renderMore() {
    var end = Math.min(shown.length, rendered + PAGE);
    for (; rendered < end; rendered++) list.appendChild(row(cases[shown[rendered]]));
    var left = shown.length - rendered;
    more.hidden = left <= 0;
    more.textContent = "Show " + Math.min(PAGE, left) + " more (" + left + " not shown)";
  }

  function row(c) {
    var details = el("details", "case");
    details.setAttribute("data-key", c.key);
    var summary = el("summary");
    summary.appendChild(el("span", "badge o-" + c.outcome, labels[c.outcome] || c.outcome));
    summary.appendChild(el("span", "key", c.key));
    summary.appendChild(el("span", "category", c.category));
    var sides = el("span", "sides");
    c.sides.forEach(function (side) {
      sides.appendChild(el("span", "badge st-" + side.status, side.target + ": " + side.summary));
    });
    summary.appendChild(sides);
    details.appendChild(summary);
    details.addEventListener("toggle", function () {
      if (details.open && details.children.length === 1) details.appendChild(body(c));
    });
    return details;
  }

  function body(c) {
    var box = el("div", "case-body");
    if (c.input !== null) {
      box.appendChild(el("h4", null, "Input"));
      box.appendChild(el("pre", "input", c.input));
    }
    var grid = el("div", "sides-grid");
    c.sides.forEach(function (side) { grid.appendChild(sideBlock(side)); });
    box.appendChild(grid);
    box.appendChild(diffBlock(c.diff));
    return box;
  }

  function sideBlock(side) {
    var block = el("div", "side side-" + side.role);
    var head = el("h4", null, side.role === side.target ? side.target : side.role + ": " + side.target);
    head.appendChild(el("span", "badge st-" + side.status, side.summary));
    block.appendChild(head);
    if (!side.answers) {
      block.appendChild(el("p", "muted", "No answer in the log."));
      return block;
    }
    if (side.why.length) block.appendChild(el("p", "why", side.why.join("; ")));
    side.answers.forEach(function (a) {
      var item = el("div", "repeat");
      var facts = ["repeat " + a.repeat, a.status];
      if (a.latency) facts.push(a.latency);
      item.appendChild(el("div", "repeat-head", facts.join(" · ")));
      item.appendChild(el("pre", "answer", a.text));
      if (a.checks.length) item.appendChild(checksTable(a.checks));
      block.appendChild(item);
    });
    return block;
  }

  function checksTable(checks) {
    var table = el("table", "checks");
    var head = el("tr");
    ["check", "result", "value", "reason"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var rows = el("tbody");
    checks.forEach(function (check) {
      var tr = el("tr", check.passed ? "check-pass" : "check-fail");
      tr.appendChild(el("td", null, check.check));
      var result = el("td");
      result.appendChild(el("span", "badge st-" + (check.passed ? "pass" : "fail"), check.passed ? "pass" : "fail"));
      tr.appendChild(result);
      tr.appendChild(el("td", null, check.value));
      tr.appendChild(el("td", null, check.reason));
      rows.appendChild(tr);
    });
    table.appendChild(rows);
    return table;
  }

  function diffBlock(diff) {
    var block = el("div", "diff-block");
    var repeats = "base repeat " + diff.repeats[0] + ", candidate repeat " + diff.repeats[1];
    if (diff.kind === "same") {
      block.appendChild(el("h4", null, "Diff"));
      block.appendChild(el("p", "muted", "Answers are identical (" + repeats + ")."));
      return block;
    }
    if (diff.kind === "unavailable") {
      block.appendChild(el("h4", null, "Diff"));
      block.appendChild(el("p", "muted", "No diff: one side has no usable answer."));
      return block;
    }
    var label = diff.kind === "json" ? "JSON diff" : "Text diff";
    block.appendChild(el("h4", null, label + " (" + repeats + "; - base, + candidate)"));
    var pre = el("pre", "diff");
    diff.lines.forEach(function (line) {
      var sign = line.charAt(0);
      var cls = sign === "+" ? "add" : sign === "-" ? "del" : sign === "~" ? "chg" : "";
      pre.appendChild(el("span", cls, line + "\n"));
    });
    block.appendChild(pre);
    if (diff.more) block.appendChild(el("p", "muted", diff.more + " more line(s) not shown"));
    return block;
  }

  [suite, category, outcome].forEach(function (select) { select.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  more.addEventListener("click", renderMore);
  $("filter-reset").addEventListener("click", function () {
    suite.value = category.value = outcome.value = search.value = "";
    apply();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    }
  });
  // The filters stay in view under the page's header, whatever height it wraps to.
  var header = document.querySelector("header");
  function stick() { $("browser-bar").style.top = header.offsetHeight + "px"; }
  window.addEventListener("resize", stick);
  stick();
  apply();
})();
