/* The gallery's lightbox: no dependencies, no requests beyond the site's own files.
 * Click a tile to open; arrow keys, the side buttons or a swipe move through the tiles the
 * filters show, "k / N" says where; +/-, the wheel, a pinch or a double click zoom (into the
 * full-resolution PNG, or into the tile pyramid through deepzoom.js where there is one) and
 * a drag pans; Escape or the close button close, and focus returns to the tile; #seed-N in
 * the URL opens artwork N. */
(function () {
  "use strict";
  var box = document.getElementById("lightbox");
  if (!box || !document.querySelector(".tile-link")) return;
  var view = box.querySelector(".lb-view");
  var picture = view.querySelector("picture");
  var img = box.querySelector(".lb-image");
  // The WebP <source> is made here, not in the page: until an artwork is shown it has no
  // srcset, and a <source> with an empty one is invalid HTML.
  var source = document.createElement("source");
  source.type = "image/webp";
  img.parentNode.insertBefore(source, img);
  var link = box.querySelector(".lb-link");
  var text = box.querySelector(".lb-text");
  var counter = box.querySelector(".lb-counter");
  var closeButton = box.querySelector(".lb-close");
  var fullButton = box.querySelector(".lb-full");
  var current = null;  // the tile link shown
  var opener = null;
  var map = null;  // a Leaflet map over the shown artwork's pyramid
  var zoom = {scale: 1, x: 0, y: 0, max: 1, full: false};

  function tiles() {  // the tiles the filters show, in the grid's order
    return Array.prototype.filter.call(document.querySelectorAll(".tile-link"), function (t) {
      return !t.closest(".tile").hidden;
    });
  }

  function setHash(anchor) {
    if (!window.history || !history.replaceState) return;
    var url = location.href.split("#")[0] + (anchor ? "#" + anchor : "");
    try { history.replaceState(null, "", url); } catch (e) { /* file:// in some browsers */ }
  }

  // ---- zoom: a CSS transform of the image, or the pyramid's map ----
  function apply() {
    var side = view.clientWidth;
    zoom.x = Math.min(0, Math.max(side - side * zoom.scale, zoom.x));
    zoom.y = Math.min(0, Math.max(side - side * zoom.scale, zoom.y));
    img.style.transform = "translate(" + zoom.x + "px," + zoom.y + "px) scale(" + zoom.scale + ")";
    view.classList.toggle("zoomed", zoom.scale > 1);
    var large = Number(current.getAttribute("data-side"));
    if (!zoom.full && zoom.scale * side > large) {  // past the large image: the full PNG
      zoom.full = true;
      source.removeAttribute("srcset");
      img.src = current.getAttribute("data-full");
    }
  }

  function zoomAt(factor, cx, cy) {
    if (map) { if (factor > 1) map.zoomIn(1); else map.zoomOut(1); return; }
    var scale = Math.min(zoom.max, Math.max(1, zoom.scale * factor));
    if (cx === undefined) { cx = cy = view.clientWidth / 2; }
    zoom.x = cx - (cx - zoom.x) * scale / zoom.scale;
    zoom.y = cy - (cy - zoom.y) * scale / zoom.scale;
    zoom.scale = scale;
    apply();
  }

  function reset(t) {
    if (map) { map.remove(); map = null; }
    view.innerHTML = "";
    if (t.hasAttribute("data-pyramid") && window.attnartPyramid) {
      var el = document.createElement("div");
      el.className = "deepzoom lb-map";
      el.setAttribute("data-pyramid", t.getAttribute("data-pyramid"));
      el.setAttribute("data-tiles", t.getAttribute("data-tiles"));
      view.appendChild(el);
      map = window.attnartPyramid(el, true);
      return;
    }
    view.appendChild(picture);
    // up to 2 screen pixels per image pixel, and 2x however small the image
    zoom = {scale: 1, x: 0, y: 0, full: false,
            max: Math.max(2, 2 * Number(t.getAttribute("data-full-side")) / view.clientWidth)};
    img.style.transform = "";
    view.classList.remove("zoomed");
  }

  // ---- showing, opening, closing ----
  function show(t) {
    current = t;
    reset(t);
    source.setAttribute("srcset", t.getAttribute("data-webp"));
    img.src = t.getAttribute("data-png");
    img.alt = t.getAttribute("data-name") + ", " + t.getAttribute("data-caption");
    img.width = img.height = Number(t.getAttribute("data-side"));
    link.href = t.getAttribute("href");
    link.textContent = t.getAttribute("data-name");
    text.textContent = t.getAttribute("data-caption");
    var list = tiles();
    counter.textContent = (list.indexOf(t) + 1) + " / " + list.length;
    setHash(t.getAttribute("data-anchor"));
  }

  function step(by) {
    var list = tiles();
    var i = list.indexOf(current);
    if (list.length) show(list[(i + by + list.length) % list.length]);
  }

  function open(t) {
    opener = t;
    box.hidden = false;
    document.body.classList.add("lb-open");
    show(t);
    closeButton.focus();
  }

  function close() {
    if (box.hidden) return;
    if (document.fullscreenElement === box) document.exitFullscreen();
    box.hidden = true;
    document.body.classList.remove("lb-open");
    if (map) { map.remove(); map = null; }
    setHash("");
    var back = opener || current;
    current = null;
    if (back && back.focus) back.focus();
  }

  function focusable() {
    return Array.prototype.slice.call(box.querySelectorAll("button, a[href], [tabindex]"))
      .filter(function (el) { return el.offsetParent !== null || el === document.activeElement; });
  }

  document.addEventListener("click", function (event) {
    var t = event.target.closest && event.target.closest(".tile-link");
    if (!t || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) return;
    event.preventDefault();
    open(t);
  });
  closeButton.addEventListener("click", close);
  box.querySelector(".lb-prev").addEventListener("click", function () { step(-1); });
  box.querySelector(".lb-next").addEventListener("click", function () { step(1); });
  box.querySelector(".lb-zoom-in").addEventListener("click", function () { zoomAt(2); });
  box.querySelector(".lb-zoom-out").addEventListener("click", function () { zoomAt(0.5); });
  if (box.requestFullscreen) {
    fullButton.addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen(); else box.requestFullscreen();
    });
    document.addEventListener("fullscreenchange", function () {
      if (map) map.invalidateSize(); else if (current) { zoom.scale = 1; apply(); }
    });
  } else {
    fullButton.hidden = true;
  }
  box.addEventListener("click", function (event) { if (event.target === box) close(); });

  document.addEventListener("keydown", function (event) {
    if (box.hidden) return;
    var keys = {"Escape": close, "ArrowLeft": function () { step(-1); },
                "ArrowRight": function () { step(1); }, "+": function () { zoomAt(2); },
                "=": function () { zoomAt(2); }, "-": function () { zoomAt(0.5); }};
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
    else if (event.key === "Tab") {
      var items = focusable();
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      var inside = box.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === first || !inside)) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
        event.preventDefault(); first.focus();
      }
    }
  });

  // ---- pointer: wheel and pinch zoom, drag to pan, a swipe moves when not zoomed ----
  function at(event) {
    var r = view.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  }
  view.addEventListener("wheel", function (event) {
    if (map) return;  // Leaflet zooms its own map
    event.preventDefault();
    var p = at(event);
    zoomAt(Math.exp(-event.deltaY * 0.002), p[0], p[1]);
  }, {passive: false});
  view.addEventListener("dblclick", function (event) {
    if (map) return;
    var p = at(event);
    if (zoom.scale > 1) { zoom.scale = 1; apply(); } else zoomAt(Math.min(zoom.max, 3), p[0], p[1]);
  });
  var pointers = {}, start = null, pinch = null;
  view.addEventListener("pointerdown", function (event) {
    if (map) return;
    pointers[event.pointerId] = at(event);
    view.setPointerCapture(event.pointerId);
    start = {x: event.clientX, y: event.clientY, zx: zoom.x, zy: zoom.y};
  });
  view.addEventListener("pointermove", function (event) {
    if (map || !pointers[event.pointerId]) return;
    pointers[event.pointerId] = at(event);
    var ids = Object.keys(pointers);
    if (ids.length === 2) {  // a pinch: zoom by the change of the fingers' distance
      var a = pointers[ids[0]], b = pointers[ids[1]];
      var d = Math.hypot(a[0] - b[0], a[1] - b[1]);
      if (pinch) zoomAt(d / pinch, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
      pinch = d;
    } else if (start && zoom.scale > 1) {
      zoom.x = start.zx + event.clientX - start.x;
      zoom.y = start.zy + event.clientY - start.y;
      apply();
    }
  });
  function up(event) {
    if (!pointers[event.pointerId]) return;
    delete pointers[event.pointerId];
    if (Object.keys(pointers).length < 2) pinch = null;
    if (start && zoom.scale === 1 && event.type === "pointerup") {
      var dx = event.clientX - start.x, dy = event.clientY - start.y;
      if (Math.abs(dx) > 40 && Math.abs(dx) > Math.abs(dy)) step(dx < 0 ? 1 : -1);
    }
    start = null;
  }
  view.addEventListener("pointerup", up);
  view.addEventListener("pointercancel", up);

  function fromHash() {
    var anchor = decodeURIComponent(location.hash.slice(1));
    var t = Array.prototype.find.call(document.querySelectorAll(".tile-link"), function (el) {
      return anchor && el.getAttribute("data-anchor") === anchor;
    });
    if (t) {
      if (box.hidden) open(t); else if (t !== current) show(t);
    } else if (!box.hidden && !location.hash) {
      close();
    }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
