// Signature pads: draw on a <canvas> with a mouse, finger or pen; the drawing goes into the pad's hidden input
// as a PNG data URL, which the server decodes and checks. Also shows the parent or guardian's part of the
// signing form when the date of birth says the person is a minor (the server decides in the end).
(function () {
  "use strict";
  const PNG_PREFIX = "data:image/png;base64,";

  function setUpPad(pad) {
    const canvas = pad.querySelector("canvas");
    const input = pad.querySelector("input[type=hidden]");
    const clear = pad.querySelector("[data-signature-clear]");
    const context = canvas.getContext("2d");
    let drawing = false;
    let inked = false;
    let last = null;

    // An opaque white page, so the stored PNG reads the same on any background.
    function blank() {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.lineWidth = 3;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      inked = false;
    }

    function save() {
      input.value = inked ? canvas.toDataURL("image/png") : "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    // The canvas is scaled by CSS to its box: map the pointer from CSS pixels to canvas pixels.
    function point(event) {
      const box = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - box.left) * canvas.width) / box.width,
        y: ((event.clientY - box.top) * canvas.height) / box.height,
      };
    }

    function line(from, to) {
      context.beginPath();
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
      inked = true;
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();
      // Keep receiving the stroke when the pointer leaves the canvas mid-stroke.
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      line(last, { x: last.x + 0.01, y: last.y }); // a tap leaves a dot
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      // Fast strokes deliver several positions per event; use them all for a smooth line.
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      (events.length ? events : [event]).forEach(function (each) {
        const next = point(each);
        line(last, next);
        last = next;
      });
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    clear.addEventListener("click", function () {
      blank();
      save();
    });

    blank();
    // After the server sent the form back with an error, show what was drawn rather than ask for it again.
    if (input.value.startsWith(PNG_PREFIX)) {
      const image = new Image();
      image.onload = function () {
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        inked = true;
      };
      image.onerror = function () { input.value = ""; };
      image.src = input.value;
    } else {
      input.value = "";
    }
  }

  function age(birth, today) {
    const years = today.getFullYear() - birth.getFullYear();
    const beforeBirthday =
      today.getMonth() < birth.getMonth() ||
      (today.getMonth() === birth.getMonth() && today.getDate() < birth.getDate());
    return beforeBirthday ? years - 1 : years;
  }

  function setUpGuardian(form) {
    const guardian = form.querySelector("[data-guardian]");
    const birth = form.querySelector("input[name=date_of_birth]");
    if (!guardian || !birth) return;
    const today = new Date(guardian.dataset.today + "T00:00:00");
    const adultAge = Number(guardian.dataset.adultAge);
    function update() {
      const date = birth.value ? new Date(birth.value + "T00:00:00") : null;
      // Stays visible when the server marked an error in it, whatever the date says.
      const minor = date !== null && !isNaN(date) && age(date, today) < adultAge;
      guardian.hidden = !minor && !guardian.querySelector(".errorlist");
    }
    birth.addEventListener("input", update);
    birth.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-signature-pad]").forEach(setUpPad);
    document.querySelectorAll("form").forEach(setUpGuardian);
  });
})();
