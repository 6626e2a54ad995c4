// The consent page: "Select all on this page", a running count of the selection, and a constraint's words
// asked for only once "Allowed with a constraint" is chosen.
(function () {
  const all = document.getElementById("select-all");
  const count = document.getElementById("selected-count");
  if (!all || !count) return; // no media to give consent for yet
  const items = Array.from(document.querySelectorAll("[data-select-item]"));
  function update() {
    const ticked = items.filter((item) => item.checked).length;
    all.checked = ticked === items.length;
    all.indeterminate = ticked > 0 && ticked < items.length;
    count.textContent = ticked ? ticked + " selected" : "";
  }
  all.addEventListener("change", function () {
    items.forEach((item) => { item.checked = all.checked; });
    update();
  });
  items.forEach((item) => item.addEventListener("change", update));
  update();

  document.querySelectorAll(".use-choice").forEach(function (choice) {
    const field = choice.querySelector(".constraint-field");
    function toggle() {
      const constrained = choice.querySelector("input[type=radio][value=constrained]:checked");
      field.hidden = !constrained && !field.querySelector("input").value && !field.querySelector(".errorlist");
    }
    choice.addEventListener("change", toggle);
    toggle();
  });
})();
