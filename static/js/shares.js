// Chart bars and columns: <span data-share="37"> is drawn 37% long. The length is set here, through the
// element's style object, because the site's Content-Security-Policy refuses style attributes in markup.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-share]").forEach(function (bar) {
      const share = Number(bar.dataset.share);
      if (Number.isFinite(share)) bar.style.setProperty("--share", Math.min(100, Math.max(0, share)) + "%");
    });
  }
  draw(document);
  // Content htmx swaps in later (a card that polls) is drawn as it arrives.
  document.addEventListener("htmx:load", (event) => draw(event.target));
})();
