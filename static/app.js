// Progressive enhancement only: every action also works without this script.
// - Buttons with data-dialog open that <dialog> instead of navigating to the confirmation page.
// - Buttons with data-copy copy the text of the element with that id.
// - data-close-dialog links close their dialog instead of navigating.
(function () {
  "use strict";

  function selectAll(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener && !opener.disabled) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        var confirm = dialog.querySelector("button[type=submit]");
        if (confirm) { confirm.focus(); }
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    var copier = event.target.closest("[data-copy]");
    if (copier) {
      var source = document.getElementById(copier.getAttribute("data-copy"));
      if (!source) { return; }
      var text = source.textContent.trim();
      selectAll(source);
      var done = function () { copier.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
      return;
    }
    var selectable = event.target.closest(".selectable");
    if (selectable) { selectAll(selectable); }
  });
})();
