/* gwaudit report: search, filters and sorting for the findings tables.
   Reads text with textContent and writes only textContent, hidden and aria attributes:
   nothing from the data is ever parsed as HTML. The page is complete without this script. */
(function () {
  "use strict";
  var controls = document.getElementById("finding-controls");
  if (!controls) { return; }
  var search = document.getElementById("finding-search");
  var severity = document.getElementById("finding-severity");
  var status = document.getElementById("finding-status");
  var count = document.getElementById("finding-count");
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.rule"));
  var index = sections.map(function (section) {
    var heading = section.querySelector("h2");
    var rows = Array.prototype.slice.call(section.querySelectorAll("table.findings tbody tr"));
    return {
      section: section,
      head: (heading ? heading.textContent : "").toLowerCase(),
      rows: rows.map(function (row) { return { row: row, text: row.textContent.toLowerCase() }; })
    };
  });
  var total = index.reduce(function (n, g) { return n + g.rows.length; }, 0);

  function apply() {
    var q = search.value.trim().toLowerCase();
    var sev = severity.value;
    var st = status.value;
    var shown = 0;
    index.forEach(function (g) {
      var sevOk = !sev || g.section.getAttribute("data-severity") === sev;
      var headHit = q && g.head.indexOf(q) !== -1;
      var visible = 0;
      g.rows.forEach(function (r) {
        var ok = sevOk && (!st || r.row.getAttribute("data-status") === st) &&
                 (!q || headHit || r.text.indexOf(q) !== -1);
        r.row.hidden = !ok;
        if (ok) { visible += 1; }
      });
      g.section.hidden = visible === 0;
      shown += visible;
    });
    count.textContent = shown + " of " + total + " findings";
  }

  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent.trim(), y = b.cells[col].textContent.trim();
      var nx = Number(x), ny = Number(y);
      if (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) { return dir * (nx - ny); }
      return dir * x.localeCompare(y);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.findings"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, col, th); });
    });
  });
  search.addEventListener("input", apply);
  severity.addEventListener("change", apply);
  status.addEventListener("change", apply);
  controls.hidden = false;
  apply();
}());
