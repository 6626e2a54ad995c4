// The catalog: on a phone the open filters would push the results a screen down, so those not in use start folded.
(function () {
  if (!window.matchMedia("(max-width: 768px)").matches) return;
  document.querySelectorAll(".catalog-facet[open]:not([data-active])").forEach((facet) => facet.removeAttribute("open"));
})();
