// tony results site: sortable tables, tabs and record details. No dependencies; the pages
// read fine without it. Text from the data is only ever set through textContent, never as HTML.
"use strict";

document.documentElement.classList.add("js");

function cellValue(row, column) {
  const cell = row.cells[column];
  if (!cell) return { number: null, text: "" };
  const v = cell.getAttribute("data-v");
  if (v !== null) return { number: v === "" ? null : Number(v), text: "" };
  return { number: null, text: cell.textContent.trim() };
}

function sortBy(table, th) {
  const column = th.hasAttribute("data-col") ? Number(th.getAttribute("data-col")) : th.cellIndex;
  const body = table.querySelector("tbody.sorted") || table.tBodies[0];
  const rows = Array.from(body.rows);
  const numeric = rows.some((r) => r.cells[column] && r.cells[column].hasAttribute("data-v"));
  const current = th.getAttribute("aria-sort");
  const first = numeric ? "descending" : "ascending";
  const order = current === null ? first : current === "ascending" ? "descending" : "ascending";
  const sign = order === "ascending" ? 1 : -1;
  rows.sort((a, b) => {
    const x = cellValue(a, column), y = cellValue(b, column);
    if (numeric) {
      if (x.number === null || y.number === null) return (x.number === null) - (y.number === null);
      return sign * (x.number - y.number);
    }
    return sign * x.text.localeCompare(y.text, undefined, { numeric: true });
  });
  rows.forEach((r) => body.appendChild(r));
  table.querySelectorAll("th[aria-sort]").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", order);
}

function setUpSorting() {
  document.querySelectorAll("table.sortable th[data-sort]").forEach((th) => {
    th.tabIndex = 0;
    const table = th.closest("table");
    th.addEventListener("click", () => sortBy(table, th));
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortBy(table, th); });
  });
}

function setUpTabs() {
  document.querySelectorAll(".tabs").forEach((tabs) => {
    const links = Array.from(tabs.querySelectorAll("nav.tablist a"));
    const show = (id) => {
      links.forEach((a) => a.setAttribute("aria-selected", String(a.getAttribute("href") === "#" + id)));
      tabs.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.id !== id; });
    };
    links.forEach((a) => a.addEventListener("click", (e) => {
      e.preventDefault();
      const id = a.getAttribute("href").slice(1);
      show(id);
      history.replaceState(null, "", "#" + id);
    }));
    const wanted = location.hash.slice(1);
    const ids = links.map((a) => a.getAttribute("href").slice(1));
    if (ids.length) show(ids.includes(wanted) ? wanted : ids[0]);
  });
}

function setUpDetails() {
  const source = document.getElementById("details");
  if (!source) return;
  let details = null;
  document.querySelectorAll("button.more").forEach((button) => {
    button.addEventListener("click", () => {
      const shown = button.nextElementSibling;
      if (shown && shown.classList.contains("more-json")) { shown.remove(); return; }
      details = details || JSON.parse(source.textContent);
      const view = document.createElement("pre");
      view.className = "more-json";
      view.textContent = JSON.stringify(details[button.getAttribute("data-item")], null, 1);
      button.after(view);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpSorting();
  setUpTabs();
  setUpDetails();
});
