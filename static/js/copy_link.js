// A button that copies a link: <button data-copy-target="input-id">, with a #copy-status line beside it. Where
// the clipboard is refused, the link is selected so the person can copy it themselves.
(function () {
  const status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    const input = document.getElementById(button.dataset.copyTarget);
    button.addEventListener("click", function () {
      input.select();
      const copied = navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject();
      copied.then(
        () => { status.textContent = "Copied."; },
        () => { status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy."; }
      );
    });
  });
})();
