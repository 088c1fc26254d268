// Jikimi console, administration pages. Loaded after console.js (both deferred, in order);
// registers page behaviours by <body data-page>. No inline script anywhere (CSP).
"use strict";

(() => {
  const pages = (window.Jikimi = window.Jikimi || { pages: {} }).pages;

  // A bank's hash-list import: sent with XMLHttpRequest so upload.onprogress can drive the
  // <progress> bar; the server answers with the result as an HTML fragment (its own escaped
  // template), which replaces the result area. Without JavaScript the form posts normally.
  pages["admin-bank"] = () => {
    const form = document.getElementById("import-form");
    if (!form) return;
    const bar = document.getElementById("import-progress");
    const status = document.getElementById("import-status");
    const result = document.getElementById("import-result");
    const button = document.getElementById("import-submit");
    const active = document.getElementById("active-count");

    const show = (fraction, note) => {
      const percent = Math.min(100, Math.round(fraction * 100));
      bar.value = percent;
      status.textContent = note ? `${percent}% · ${note}` : `${percent}%`;
    };
    const fail = () => {
      button.disabled = false;
      bar.dataset.state = "failed";
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = form.dataset.failed;
      result.replaceChildren(p);
    };

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Jikimi-Fragment", "1");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable && e.total > 0) show(e.loaded / e.total, form.dataset.sending);
      });
      // Everything is sent; the server is checking and adding the lines now.
      xhr.upload.addEventListener("load", () => show(1, form.dataset.working));
      xhr.addEventListener("load", () => {
        if (xhr.getResponseHeader("X-Jikimi-Fragment") !== "1") {
          fail();
          return;
        }
        button.disabled = false;
        const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        result.replaceChildren(...doc.body.childNodes);
        show(1);
        bar.dataset.state = "done";
        const summary = document.getElementById("import-summary");
        if (active && summary && summary.dataset.added) {
          active.textContent = String(Number(active.textContent) + Number(summary.dataset.added));
        }
      });
      xhr.addEventListener("error", fail);
      xhr.addEventListener("abort", fail);
      button.disabled = true;
      bar.dataset.state = "sending";
      show(0, form.dataset.sending);
      result.replaceChildren();
      xhr.send(new FormData(form));
    });
  };
})();
