// The ticket list's checkboxes: "select all" and how many are ticked (the form works without this).
"use strict";
(function () {
  const form = document.getElementById("bulk");
  if (!form) return;
  const all = form.querySelector("input.pick-all");
  const boxes = Array.from(form.querySelectorAll("input[name=t]"));
  const picked = form.querySelector(".picked");
  const digits = (n) => String(n).replace(/\d/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
  function update() {
    const n = boxes.filter((b) => b.checked).length;
    if (picked) picked.textContent = n ? "(" + digits(n) + " انتخاب‌شده)" : "";
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  if (all && boxes.length) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach((b) => { b.checked = all.checked; });
      update();
    });
  }
  boxes.forEach((b) => b.addEventListener("change", update));
  update();
})();
