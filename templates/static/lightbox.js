/* The gallery's lightbox: no dependencies, no requests beyond the site's own images.
 * Click a tile to open; arrow keys or a swipe move; Escape or the close button close; focus
 * stays inside while open and returns to the tile after; #seed-N in the URL opens artwork N. */
(function () {
  "use strict";
  var box = document.getElementById("lightbox");
  var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile-link"));
  if (!box || !tiles.length) return;
  var img = box.querySelector(".lb-image");
  // The WebP <source> is made here, not in the page: until an artwork is shown it has no
  // srcset, and a <source> with an empty one is invalid HTML.
  var source = document.createElement("source");
  source.className = "lb-source";
  source.type = "image/webp";
  img.parentNode.insertBefore(source, img);
  var link = box.querySelector(".lb-link");
  var text = box.querySelector(".lb-text");
  var closeButton = box.querySelector(".lb-close");
  var current = -1;
  var opener = null;

  function indexOfAnchor(anchor) {
    for (var i = 0; i < tiles.length; i++) {
      if (tiles[i].getAttribute("data-anchor") === anchor) return i;
    }
    return -1;
  }

  function setHash(anchor) {
    if (!window.history || !history.replaceState) return;
    var url = location.href.split("#")[0] + (anchor ? "#" + anchor : "");
    try { history.replaceState(null, "", url); } catch (e) { /* file:// in some browsers */ }
  }

  function show(i) {
    current = (i + tiles.length) % tiles.length;
    var t = tiles[current];
    source.setAttribute("srcset", t.getAttribute("data-webp"));
    img.src = t.getAttribute("data-png");
    img.alt = t.getAttribute("data-name");
    img.width = img.height = Number(t.getAttribute("data-side"));
    link.href = t.getAttribute("href");
    link.textContent = t.getAttribute("data-name");
    text.textContent = t.getAttribute("data-caption");
    setHash(t.getAttribute("data-anchor"));
  }

  function open(i, from) {
    opener = from || document.activeElement;
    box.hidden = false;
    document.body.classList.add("lb-open");
    show(i);
    closeButton.focus();
  }

  function close() {
    if (box.hidden) return;
    box.hidden = true;
    document.body.classList.remove("lb-open");
    setHash("");
    var back = opener || tiles[current];
    current = -1;
    if (back && back.focus) back.focus();
  }

  function focusable() {
    return Array.prototype.slice.call(box.querySelectorAll("button, a[href]"))
      .filter(function (el) { return el.offsetParent !== null || el === document.activeElement; });
  }

  tiles.forEach(function (tile, i) {
    tile.addEventListener("click", function (event) {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      open(i, tile);
    });
  });
  closeButton.addEventListener("click", close);
  box.querySelector(".lb-prev").addEventListener("click", function () { show(current - 1); });
  box.querySelector(".lb-next").addEventListener("click", function () { show(current + 1); });
  box.addEventListener("click", function (event) { if (event.target === box) close(); });

  document.addEventListener("keydown", function (event) {
    if (box.hidden) return;
    if (event.key === "Escape") { event.preventDefault(); close(); }
    else if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
    else if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
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

  var startX = null, startY = null;
  box.addEventListener("touchstart", function (event) {
    if (event.touches.length !== 1) { startX = null; return; }
    startX = event.touches[0].clientX; startY = event.touches[0].clientY;
  }, { passive: true });
  // A sideways drag belongs to the lightbox: without this the browser takes it as its own
  // swipe-to-go-back (or scrolls the page behind) and leaves the gallery.
  box.addEventListener("touchmove", function (event) {
    if (startX === null || event.touches.length !== 1) return;
    var dx = event.touches[0].clientX - startX, dy = event.touches[0].clientY - startY;
    if (Math.abs(dx) > Math.abs(dy) && event.cancelable) event.preventDefault();
  }, { passive: false });
  box.addEventListener("touchend", function (event) {
    if (startX === null) return;
    var dx = event.changedTouches[0].clientX - startX;
    var dy = event.changedTouches[0].clientY - startY;
    startX = null;
    if (Math.abs(dx) > 40 && Math.abs(dx) > Math.abs(dy)) show(current + (dx < 0 ? 1 : -1));
  });

  function fromHash() {
    var i = indexOfAnchor(decodeURIComponent(location.hash.slice(1)));
    if (i >= 0) {
      if (box.hidden) open(i, tiles[i]); else if (i !== current) show(i);
    } else if (!box.hidden && !location.hash) {
      close();
    }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
