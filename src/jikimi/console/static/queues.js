// A queue page: "select exact known abuse" ticks the cases the server will accept for a bulk
// confirmation (it checks each again), and the confirmation asks once more before posting.
"use strict";

(() => {
  window.Jikimi.pages.queue = () => {
    const form = document.getElementById("bulk-form");
    if (!form) return;
    const boxes = () => Array.from(document.querySelectorAll("input[form=bulk-form][type=checkbox]"));
    const select = document.getElementById("select-exact");
    if (select) {
      select.addEventListener("click", () => {
        boxes().forEach((box) => { box.checked = box.dataset.unsafe !== "1"; });
      });
    }
    form.addEventListener("submit", (event) => {
      const ticked = boxes().filter((box) => box.checked).length;
      const question = form.dataset.confirm.replace("{count}", String(ticked));
      if (!window.confirm(question)) event.preventDefault();
    });
  };
})();
