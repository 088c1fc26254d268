// The case page: deliberate, logged reveals that veil themselves again, and keyboard
// shortcuts for the decision (r remove, s restrict, k keep, e escalate, n next case, ? help).
// Without this script the page still works: the reveal form opens the original (logged) and
// the decision form posts as it is.
"use strict";

(() => {
  const REVEAL_SECONDS = 20;

  function typing(target) {
    if (!(target instanceof Element)) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
  }

  // -- media: reveal on a click, veil again on leaving, on losing focus, or after 20 s --------

  function setupMedia(area) {
    const form = area.querySelector(".reveal-form");
    const preview = area.querySelector("img.preview");
    const frame = area.querySelector(".frame");
    const status = area.querySelector(".reveal-status");
    const reblur = area.querySelector(".reblur");
    const cont = area.querySelector(".continue");
    let shown = null;
    let objectUrl = null;
    let timer = null;

    function veil() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (shown) {
        if (shown.tagName === "VIDEO") shown.pause();
        shown.remove();
      }
      shown = null;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
      preview.hidden = false;
      area.classList.remove("is-revealed");
      reblur.hidden = true;
    }

    function show(blob, kind) {
      objectUrl = URL.createObjectURL(blob);
      if (kind === "video") {
        shown = document.createElement("video");
        shown.controls = true;
        shown.muted = area.dataset.muted === "1";
        shown.playsInline = true;
      } else {
        shown = document.createElement("img");
        shown.alt = preview.alt;
      }
      shown.className = "revealed original";
      shown.src = objectUrl;
      preview.hidden = true;
      frame.appendChild(shown);
      area.classList.add("is-revealed");
      reblur.hidden = false;
      timer = setTimeout(veil, REVEAL_SECONDS * 1000);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (shown) return;
      status.textContent = "";
      let answer;
      try {
        answer = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
      } catch (error) {
        status.textContent = String(error);
        return;
      }
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        status.textContent = body.message || answer.statusText;
        if (body.over_limit && cont) cont.hidden = false;
        return;
      }
      // The grant is good for one request: fetch the original once, show it from memory.
      const original = await fetch(body.url, { credentials: "same-origin" });
      if (!original.ok) {
        status.textContent = await original.text();
        return;
      }
      show(await original.blob(), area.dataset.kind);
    });

    reblur.addEventListener("click", veil);
    area.addEventListener("mouseleave", () => { if (shown) veil(); });
    window.addEventListener("blur", () => { if (shown) veil(); });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState !== "visible" && shown) veil();
    });
  }

  // -- the decision: shortcuts open a confirmation that Enter accepts and Escape cancels ------

  function setupDecision() {
    const form = document.getElementById("decision-form");
    const dialog = document.getElementById("confirm-decision");
    if (!form || !dialog) return null;
    const fields = form.querySelector("fieldset");
    const summary = document.getElementById("confirm-summary");
    const yes = document.getElementById("confirm-yes");
    let confirmed = false;

    function chosen() {
      const radio = form.querySelector("input[name=outcome]:checked");
      return radio ? radio.value : "";
    }

    function ask() {
      const outcome = chosen();
      const radio = form.querySelector(`input[name=outcome][value="${outcome}"]`);
      const label = radio ? radio.parentElement.textContent.trim().replace(/\s+\S$/, "") : "";
      const reasons = form.querySelector("#reasons").value.trim();
      summary.textContent = `${label} — ${reasons}`;
      dialog.showModal();
      yes.focus();
    }

    function choose(outcome) {
      if (fields.disabled) return;
      const radio = form.querySelector(`input[name=outcome][value="${outcome}"]`);
      if (!radio) return;
      radio.checked = true;
      const reasons = form.querySelector("#reasons");
      const canned = Object.values({
        remove: form.dataset.reasonRemove,
        restrict: form.dataset.reasonRestrict,
        keep: form.dataset.reasonKeep,
        escalate: form.dataset.reasonEscalate,
      });
      // Fill a suggested reason only where the reviewer wrote none of their own.
      if (!reasons.value.trim() || canned.includes(reasons.value.trim())) {
        reasons.value = form.dataset["reason" + outcome[0].toUpperCase() + outcome.slice(1)] || "";
      }
      ask();
    }

    form.addEventListener("submit", (event) => {
      if (confirmed) return;
      event.preventDefault();
      if (!chosen()) {
        form.querySelector("input[name=outcome]").focus();
        return;
      }
      ask();
    });
    yes.addEventListener("click", () => {
      confirmed = true;
      dialog.close();
      form.submit();
    });
    document.getElementById("confirm-no").addEventListener("click", () => dialog.close());
    return choose;
  }

  function setupShortcuts(choose) {
    const help = document.getElementById("shortcut-help");
    const openHelp = () => { if (help && !help.open) help.showModal(); };
    const showHelp = document.getElementById("show-help");
    if (showHelp) showHelp.addEventListener("click", openHelp);
    const closeHelp = document.getElementById("help-close");
    if (closeHelp) closeHelp.addEventListener("click", () => help.close());
    const outcomes = { r: "remove", s: "restrict", k: "keep", e: "escalate" };

    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      if (event.key === "?") {
        event.preventDefault();
        openHelp();
      } else if (event.key === "n") {
        const next = document.getElementById("next-case") || document.getElementById("back-to-queue");
        if (next) window.location.assign(next.href);
      } else if (outcomes[event.key] && choose) {
        event.preventDefault();
        choose(outcomes[event.key]);
      }
    });
  }

  window.Jikimi.pages.case = () => {
    document.querySelectorAll(".media-view").forEach(setupMedia);
    setupShortcuts(setupDecision());
  };
})();
