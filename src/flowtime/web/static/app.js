// FlowTime UI behaviour shared by every page: copy buttons, template search, array editors, mode switch.
(function () {
  "use strict";

  // Calls fn once per element matching selector under root: htmx swaps re-run setup on new content only.
  function each(root, selector, fn) {
    root.querySelectorAll(selector).forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      fn(el);
    });
  }

  function setupCopy(root) {
    each(root, "[data-copy]", function (btn) {
      btn.addEventListener("click", function () {
        var text = btn.dataset.copy;
        var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { btn.textContent = "Copy failed"; });
        } else {
          var area = document.createElement("textarea");
          area.value = text; document.body.appendChild(area); area.select();
          try { document.execCommand("copy"); done(); } finally { area.remove(); }
        }
      });
    });
  }

  function setupSearch(root) {
    each(root, "[data-filter-list]", function (input) {
      var list = document.querySelector(input.dataset.filterList);
      var empty = document.getElementById("template-search-empty");
      input.addEventListener("input", function () {
        var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
        var shown = 0;
        list.querySelectorAll("[data-filter-text]").forEach(function (item) {
          var text = item.dataset.filterText;
          var match = words.every(function (w) { return text.indexOf(w) >= 0; });
          item.hidden = !match;
          if (match) shown += 1;
        });
        if (empty) empty.hidden = shown > 0;
      });
    });
  }

  function cellInput(editor, value, index) {
    var input = document.createElement("input");
    input.type = "number";
    input.className = "cell";
    input.name = editor.dataset.name;
    input.step = editor.dataset.step;
    if (editor.dataset.min !== undefined) input.min = editor.dataset.min;
    if (editor.dataset.max !== undefined) input.max = editor.dataset.max;
    input.value = value;
    var label = editor.getAttribute("aria-labelledby");
    var title = label ? document.getElementById(label).textContent : editor.dataset.name;
    input.setAttribute("aria-label", title + " value " + index);
    return input;
  }

  function setupArrays(root) {
    each(root, "[data-array-editor]", function (editor) {
      var cells = editor.querySelector("[data-cells]");
      var count = editor.querySelector("[data-count]");
      var refresh = function () { count.textContent = cells.children.length + " values"; };
      var resize = function (n) {
        var last = cells.lastElementChild ? cells.lastElementChild.value : "";
        while (cells.children.length < n) cells.appendChild(cellInput(editor, last, cells.children.length));
        while (cells.children.length > n) cells.lastElementChild.remove();
        refresh();
      };
      editor.querySelector("[data-array-add]").addEventListener("click", function () {
        resize(cells.children.length + 1);
        cells.lastElementChild.focus();
      });
      editor.querySelector("[data-array-remove]").addEventListener("click", function () {
        resize(Math.max(0, cells.children.length - 1));
      });
      var match = editor.querySelector("[data-array-match]");
      if (match) {
        match.addEventListener("click", function () {
          var bins = document.querySelector('[name="' + match.dataset.arrayMatch + '"]');
          var n = bins ? parseInt(bins.value || bins.placeholder, 10) : NaN;
          if (Number.isFinite(n) && n >= 0 && n <= 100000) resize(n);
        });
      }
      editor.querySelector("[data-array-fill]").addEventListener("click", function () {
        var value = editor.querySelector("[data-array-fill-value]").value;
        Array.prototype.forEach.call(cells.children, function (c) { c.value = value; });
      });
      refresh();
    });
  }

  function setupModeSwitch(root) {
    each(root, "[data-mode-switch]", function (box) {
      var only = box.querySelector("[data-telemetry-only]");
      box.addEventListener("change", function () {
        var checked = box.querySelector('input[name="mode"]:checked');
        only.hidden = !(checked && checked.value === "telemetry");
      });
    });
  }

  function setupCards(root) {
    each(root, "[data-template-card]", function (card) {
      card.addEventListener("click", function () {
        document.querySelectorAll("[data-template-card]").forEach(function (c) {
          c.classList.remove("card-selected");
          c.removeAttribute("aria-current");
        });
        card.classList.add("card-selected");
        card.setAttribute("aria-current", "true");
      });
    });
  }

  // Refresh re-requests the page's current address, so filters and paging changed by htmx are kept.
  function setupRefresh(root) {
    each(root, "[data-refresh]", function (btn) {
      btn.addEventListener("click", function () {
        htmx.ajax("GET", window.location.pathname + window.location.search, { source: btn, target: btn.dataset.refresh });
      });
    });
  }

  function setup(root) {
    setupCopy(root); setupSearch(root); setupArrays(root); setupModeSwitch(root); setupCards(root); setupRefresh(root);
  }

  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    setup(event.target);
    // Bring the outcome of a submitted form (result card, error list) into view and give it focus.
    if (!event.detail.requestConfig || event.detail.requestConfig.verb !== "post") return;
    var invalid = event.target.querySelector('[aria-invalid="true"]');
    if (invalid) { invalid.focus(); return; }
    var outcome = event.target.querySelector(".result, .alert");
    if (outcome) {
      outcome.setAttribute("tabindex", "-1");
      outcome.focus({ preventScroll: true });
      outcome.scrollIntoView({ block: "nearest" });
    }
  });
  // A request that never reached the server (network down, server stopped) still needs a visible message.
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = "Error: the server could not be reached. Check that FlowTime is running, then try again.";
    target.prepend(box);
  });
})();
