/* attnart's lightbox for the gallery of a Jekyll page: click a picture to see it large;
   arrows, a swipe or the arrow keys step through the gallery; Escape, the close button or a
   click beside the picture closes it. No library, no network. */
(function () {
  'use strict';
  if (window.attnartLightbox) return;  // the page may hold the block's script twice
  window.attnartLightbox = true;

  var box, picture, caption, count, items = [], current = 0, opener = null, overflow = '';

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function button(className, label, text, action) {
    var node = el('button', className, text);
    node.type = 'button';
    node.setAttribute('aria-label', label);
    node.addEventListener('click', function (event) { event.stopPropagation(); action(); });
    return node;
  }

  function build() {
    box = el('figure', 'attnart-lightbox');
    box.hidden = true;
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-modal', 'true');
    box.setAttribute('aria-label', 'Artwork viewer');
    picture = el('img');
    caption = el('figcaption');
    count = el('span', 'attnart-count');
    count.setAttribute('aria-live', 'polite');
    box.append(count, picture, caption,
               button('attnart-prev', 'Previous', '\u2039', function () { step(-1); }),
               button('attnart-next', 'Next', '\u203a', function () { step(1); }),
               button('attnart-close', 'Close', '\u00d7', close));
    box.addEventListener('click', function (event) {
      if (event.target === box) close();
    });
    var startX = null, startY = 0;
    box.addEventListener('touchstart', function (event) {
      if (event.touches.length !== 1) { startX = null; return; }
      startX = event.touches[0].clientX;
      startY = event.touches[0].clientY;
    }, {passive: true});
    box.addEventListener('touchend', function (event) {
      if (startX === null) return;
      var dx = event.changedTouches[0].clientX - startX;
      var dy = event.changedTouches[0].clientY - startY;
      startX = null;
      if (Math.abs(dx) > 40 && Math.abs(dx) > Math.abs(dy)) step(dx < 0 ? 1 : -1);
    });
    document.body.appendChild(box);
  }

  function show(index) {
    var n = items.length;
    current = ((index % n) + n) % n;
    var image = items[current];
    picture.src = image.currentSrc || image.src;
    picture.alt = image.alt;
    count.textContent = (current + 1) + ' / ' + n;
    caption.textContent = image.alt + ' \u00b7 seed ' + image.dataset.seed;
    if (image.dataset.page) {
      var link = el('a', '', 'details');
      link.href = image.dataset.page;
      caption.append(' \u00b7 ', link);
    }
    var multiple = n > 1;
    box.querySelector('.attnart-prev').hidden = !multiple;
    box.querySelector('.attnart-next').hidden = !multiple;
  }

  function step(delta) { show(current + delta); }

  function open(gallery, image) {
    if (!box) build();
    items = Array.prototype.slice.call(gallery.querySelectorAll('img'));
    opener = image;
    overflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = 'hidden';  // the page stays where it was
    box.hidden = false;
    show(items.indexOf(image));
    box.querySelector('.attnart-close').focus();
  }

  function close() {
    if (!box || box.hidden) return;
    box.hidden = true;
    document.documentElement.style.overflow = overflow;
    if (opener) opener.focus({preventScroll: true});
  }

  document.addEventListener('keydown', function (event) {
    if (!box || box.hidden) return;
    if (event.key === 'Escape') close();
    else if (event.key === 'ArrowLeft') step(-1);
    else if (event.key === 'ArrowRight') step(1);
    else return;
    event.preventDefault();
  });

  Array.prototype.forEach.call(document.querySelectorAll('.attnart-gallery'), function (gallery) {
    Array.prototype.forEach.call(gallery.querySelectorAll('img'), function (image) {
      if (image.closest('a')) return;  // a linked picture is reached by its link
      image.tabIndex = 0;
      image.setAttribute('role', 'button');
    });
    gallery.addEventListener('click', function (event) {
      var image = event.target.closest('img');
      // a modified click opens the link as the browser would (a new tab, a download)
      if (!image || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
        return;
      }
      event.preventDefault();
      open(gallery, image);
    });
    gallery.addEventListener('keydown', function (event) {
      var image = event.target.closest('img, a');
      if (!image || (event.key !== 'Enter' && event.key !== ' ')) return;
      event.preventDefault();
      open(gallery, image.tagName === 'IMG' ? image : image.querySelector('img'));
    });
  });
})();
