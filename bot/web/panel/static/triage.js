// Keyboard shortcuts on the triage queue: j or n next, k or p previous, a accept the category shown,
// r choose another category. Ignored while typing in a field or with a modifier key held. Keys are
// read by position (event.code), so they work the same on a Persian keyboard layout.
"use strict";
(function () {
  const cards = Array.from(document.querySelectorAll("article.triage"));
  if (!cards.length) return;
  let current = 0;
  function select(index, scroll) {
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach((card, i) => card.classList.toggle("current", i === current));
    const card = cards[current];
    if (scroll) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }
  }
  cards.forEach((card, i) => {
    card.tabIndex = -1;
    card.addEventListener("focusin", () => select(i, false));
  });
  const help = document.querySelector(".shortcuts");
  if (help) help.hidden = false;
  select(0, false);
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || event.defaultPrevented) return;
    const target = event.target;
    if (target instanceof HTMLElement &&
        (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    const card = cards[current];
    const form = card.querySelector("form");
    switch (event.code) {
      case "KeyJ": case "KeyN":
        select(current + 1, true); break;
      case "KeyK": case "KeyP":
        select(current - 1, true); break;
      case "KeyA":
        if (!form) return;
        form.requestSubmit(); break;
      case "KeyR": {
        const choice = form && form.querySelector("select[name=category]");
        if (!choice) return;
        choice.focus(); break;
      }
      default:
        return;
    }
    event.preventDefault();
  });
})();
