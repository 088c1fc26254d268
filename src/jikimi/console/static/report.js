// The public takedown form (/report). Hand-written, no build step, nothing inline (the
// Content-Security-Policy forbids it). The form works without this script; with it:
// - a file chosen in "#device-file" (an input with no name: the browser never sends it) is
//   hashed here with WebCrypto SHA-256 and its "sha256:<hex>" added to the fingerprints box;
// - a picture over the size limit is caught before it is sent;
// - the "filing for someone else" name shows only when the box is ticked;
// - times are shown in the visitor's own time zone as well as UTC.
"use strict";

window.Jikimi = window.Jikimi || { pages: {} };

(function () {
  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function addLine(textarea, line) {
    const lines = textarea.value.split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
    if (!lines.includes(line)) lines.push(line);
    textarea.value = lines.join("\n");
  }

  function deviceHashing() {
    const box = document.getElementById("device-hash");
    const input = document.getElementById("device-file");
    const result = document.getElementById("device-hash-result");
    const hashes = document.getElementById("f-hashes");
    if (!box || !input || !result || !hashes) return;
    if (!(window.crypto && window.crypto.subtle && window.isSecureContext)) {
      const note = document.getElementById("device-hash-unavailable");
      if (note) note.hidden = false;
      return;
    }
    box.hidden = false;
    input.addEventListener("change", async () => {
      for (const file of Array.from(input.files || [])) {
        const item = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = file.name + ": ";
        const out = document.createElement("code");
        out.textContent = box.dataset.working || "…";
        item.append(name, out);
        result.append(item);
        try {
          const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
          const line = "sha256:" + hex(digest);
          out.textContent = line;
          out.dataset.sha256 = hex(digest);
          const note = document.createElement("span");
          note.className = "muted";
          note.textContent = " — " + (box.dataset.added || "");
          item.append(note);
          addLine(hashes, line);
        } catch (err) {
          out.textContent = box.dataset.failed || "error";
          out.className = "error";
        }
      }
      input.value = "";
    });
  }

  function pictureSize() {
    const input = document.getElementById("f-picture");
    const warning = document.getElementById("picture-too-big");
    if (!input || !warning) return;
    const max = Number(input.dataset.maxBytes || "0");
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      const tooBig = Boolean(file && max && file.size > max);
      warning.hidden = !tooBig;
      warning.textContent = tooBig ? input.dataset.tooBig || "" : "";
      if (tooBig) input.value = "";
    });
  }

  function onBehalf() {
    const box = document.getElementById("for-someone");
    const section = document.getElementById("on-behalf");
    const name = document.getElementById("f-on-behalf-of");
    if (!box || !section || !name) return;
    const sync = () => {
      section.hidden = !box.checked;
      name.required = box.checked;
      if (!box.checked) name.value = "";
    };
    box.addEventListener("change", sync);
    section.hidden = !box.checked;
    name.required = box.checked;
  }

  function errorsFirst() {
    const summary = document.getElementById("report-errors");
    if (summary) summary.focus();
  }

  function localTimes() {
    for (const el of document.querySelectorAll("time[data-local]")) {
      const when = new Date(el.getAttribute("datetime"));
      if (!Number.isNaN(when.getTime())) {
        el.title = el.textContent;
        el.textContent = when.toLocaleString(document.documentElement.lang || undefined, {
          dateStyle: "long",
          timeStyle: "short",
        }) + " (" + el.textContent + ")";
      }
    }
  }

  window.Jikimi.pages.report = function () {
    deviceHashing();
    pictureSize();
    onBehalf();
    errorsFirst();
  };
  window.Jikimi.pages["report-done"] = localTimes;
})();
