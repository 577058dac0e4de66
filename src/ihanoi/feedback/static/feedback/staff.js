// A response template picked from the list is put into the action's text box (appended
// when the officer has already written something), to be edited before sending.
(function () {
  "use strict";
  document.querySelectorAll("select.template-picker").forEach(function (select) {
    select.addEventListener("change", function () {
      var box = select.closest("form").querySelector("textarea");
      if (!box || !select.value) return;
      box.value = box.value ? box.value + "\n" + select.value : select.value;
      select.value = "";
      box.focus();
    });
  });
})();
