/* The index's filters: one <select> per trait of the metadata and a sort order, applied
 * without reloading; open on a wide screen, folded on a phone. Without JavaScript they stay
 * hidden and every artwork shows. */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var grid = document.getElementById("grid");
  if (!form || !grid) return;
  var items = Array.prototype.slice.call(grid.children);
  var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-trait]"));
  var sort = document.getElementById("sort");
  var shown = document.getElementById("shown");

  function apply() {
    var count = 0;
    items.forEach(function (item) {
      var keep = selects.every(function (s) {
        return !s.value || item.getAttribute("data-trait-" + s.getAttribute("data-trait")) === s.value;
      });
      item.hidden = !keep;
      if (keep) count++;
    });
    var parts = sort.value.split("-"), key = "data-" + parts[0], sign = parts[1] === "desc" ? -1 : 1;
    items.slice().sort(function (a, b) {
      return sign * (Number(a.getAttribute(key)) - Number(b.getAttribute(key))) ||
        Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
    }).forEach(function (item) { grid.appendChild(item); });
    shown.textContent = count + " of " + items.length;
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  var box = document.getElementById("filters-box");
  box.open = window.matchMedia("(min-width: 700px)").matches;  // folded on a phone
  box.hidden = false;
  apply();
})();
