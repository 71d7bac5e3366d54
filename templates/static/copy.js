/* "Copy" beside a command: one click puts the command on the clipboard. The button exists
 * only where this script runs; without a clipboard API the text is selected for Ctrl-C. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll(".command-box"), function (box) {
    var button = box.querySelector(".copy"), code = box.querySelector("code");
    if (!button || !code) return;
    button.hidden = false;
    function said(text) {
      button.textContent = text;
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }
    function select() {
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      said("Press Ctrl-C");
    }
    button.addEventListener("click", function () {
      if (!navigator.clipboard || !navigator.clipboard.writeText) { select(); return; }
      navigator.clipboard.writeText(code.textContent).then(function () { said("Copied"); }, select);
    });
  });
})();
