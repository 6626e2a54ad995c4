// The new release form shows only the fields that apply to the chosen kind and method; without script, every
// field shows. A hidden field is disabled too, so it is not sent: a birth date typed before switching to a
// property release would otherwise be refused on a field the creator can no longer see.
(function () {
  const form = document.getElementById("release-form");
  if (!form) return;
  function update() {
    const kind = (form.querySelector("input[name=kind]:checked") || {}).value;
    const method = (form.querySelector("input[name=method]:checked") || {}).value;
    form.querySelectorAll("[data-show-kind]").forEach((el) => { el.hidden = el.dataset.showKind !== kind; });
    form.querySelectorAll("[data-show-method]").forEach((el) => { el.hidden = el.dataset.showMethod !== method; });
    form.querySelectorAll("[data-show-kind] :is(input, select, textarea), [data-show-method] :is(input, select, textarea)")
      .forEach((field) => { field.disabled = field.closest("[hidden]") !== null; });
  }
  form.addEventListener("change", update);
  update();
})();
