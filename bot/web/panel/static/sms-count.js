// The free reply form: the SMS part count while typing, and canned texts inserted into the box.
// It counts exactly like channels/segments.py (GSM-7: 160 in one part, 153 per part beyond; UCS-2,
// i.e. any Persian letter: 70 and 67, in UTF-16 code units) the text the citizen's SMS will carry:
// the textarea's `data-sms-prefix` followed by the typed text on one line (bot/lifecycle.one_line).
// Without this file the form still works: the server counts after posting.
"use strict";

(function () {
  var GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENDED = "^{}\\[~]|€\f";
  var PERSIAN = "۰۱۲۳۴۵۶۷۸۹";

  function isGsm7(text) {
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (GSM_BASIC.indexOf(ch) < 0 && GSM_EXTENDED.indexOf(ch) < 0) return false;
    }
    return true;
  }

  function encodedLength(text) {
    if (!isGsm7(text)) return text.length; // a JavaScript string's length is in UTF-16 code units
    var n = 0;
    for (var i = 0; i < text.length; i++) n += GSM_EXTENDED.indexOf(text.charAt(i)) >= 0 ? 2 : 1;
    return n;
  }

  function smsParts(text) {
    if (!text) return 0;
    var length = encodedLength(text);
    var gsm = isGsm7(text);
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    return length <= single ? 1 : Math.ceil(length / part);
  }

  function oneLine(text) {
    return text.trim().replace(/\s*[\r\n]+\s*/g, " ");
  }

  function fa(n) {
    return String(n).replace(/[0-9]/g, function (d) { return PERSIAN.charAt(+d); });
  }

  function counter(box, out) {
    var prefix = box.getAttribute("data-sms-prefix") || "";
    var max = parseInt(box.getAttribute("data-sms-max") || "4", 10);
    function update() {
      var typed = oneLine(box.value);
      if (!typed) {
        out.textContent = "پیامک: متن را بنویسید؛ شمار بخش‌ها همین‌جا می‌آید.";
        out.classList.remove("over");
        return;
      }
      var sms = prefix + typed;
      var parts = smsParts(sms);
      out.textContent = "پیامک: " + fa(parts) + " بخش از حداکثر " + fa(max) + " — " +
        fa(encodedLength(sms)) + " نویسه";
      out.classList.toggle("over", parts > max);
    }
    box.addEventListener("input", update);
    update();
  }

  function canned(select, box) {
    var use = document.getElementById("reply-use");
    if (use) use.hidden = true; // with this file, picking a text inserts it at once
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var text = option ? option.getAttribute("data-text") : null;
      if (!text) return;
      var start = box.selectionStart, end = box.selectionEnd, value = box.value;
      if (typeof start !== "number" || document.activeElement !== box) start = end = value.length;
      var before = value.slice(0, start), after = value.slice(end);
      var glue = before && !/\s$/.test(before) ? "\n" : "";
      box.value = before + glue + text + after;
      var caret = (before + glue + text).length;
      box.focus();
      box.setSelectionRange(caret, caret);
      select.selectedIndex = 0;
      box.dispatchEvent(new Event("input"));
    });
  }

  function init() {
    var box = document.getElementById("reply-text");
    if (!box) return;
    var out = document.getElementById("reply-count");
    if (out && box.hasAttribute("data-sms-prefix")) counter(box, out);
    var select = document.getElementById("reply-canned");
    if (select) canned(select, box);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
