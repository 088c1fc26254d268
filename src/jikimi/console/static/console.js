// Jikimi console: small, hand-written, no build step. Each page's behaviour starts from the
// page name on <body data-page>; nothing here runs inline (the Content-Security-Policy
// forbids it).
"use strict";

window.Jikimi = window.Jikimi || { pages: {} };

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  const start = window.Jikimi.pages[page];
  if (typeof start === "function") start();
});
