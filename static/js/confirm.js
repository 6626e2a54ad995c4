// A real confirmation dialog for buttons that do what cannot be undone: <button data-confirm="Question?"
// data-confirm-action="Withdraw">. The page's own window.confirm is not used: inside a form, an inline
// handler's `confirm` resolves to any field named "confirm" first, and a browser may suppress its dialogs.
(function () {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return;
  const question = dialog.querySelector("[data-confirm-question]");
  const proceed = dialog.querySelector("[data-confirm-proceed]");
  let pending = null;

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-confirm]");
    if (!button || button.form === null) return;
    if (pending === button) {
      pending = null; // confirmed: let this click submit the form as the button says
      return;
    }
    event.preventDefault();
    pending = null;
    question.textContent = button.dataset.confirm;
    proceed.textContent = button.dataset.confirmAction || button.textContent.trim();
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue !== "proceed") return;
        pending = button;
        button.click();
      },
      { once: true }
    );
  });
})();
