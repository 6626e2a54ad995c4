// Uploads each chosen or dropped file to the API with its own progress bar, two at a time, plus an overall bar.
(function () {
  "use strict";
  const PARALLEL = 2;

  function formatBytes(bytes) {
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " KB";
    if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
    return (bytes / 1024 / 1024 / 1024).toFixed(2) + " GB";
  }

  function errorMessage(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body.error) return body.error.fields && body.error.fields.file ? body.error.fields.file.join(" ") : body.error.message;
    } catch (ignored) { /* not JSON: fall through */ }
    if (xhr.status === 413) return "This file is larger than the server accepts.";
    return xhr.status ? "The server refused this file (" + xhr.status + ")." : "The connection was lost; try again.";
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("upload-form");
    if (!form) return;
    const input = document.getElementById("files");
    const zone = document.getElementById("drop-zone");
    const list = document.getElementById("upload-list");
    const overall = document.getElementById("overall-progress");
    const overallText = document.getElementById("overall-text");
    const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const queue = [];
    const items = [];
    let running = 0;

    function updateOverall() {
      const total = items.reduce((sum, item) => sum + item.file.size, 0) || 1;
      const loaded = items.reduce((sum, item) => sum + item.loaded, 0);
      const percent = Math.round((loaded / total) * 100);
      overall.value = percent;
      overallText.textContent = percent + "% of " + items.length + " file" + (items.length === 1 ? "" : "s");
      if (items.every((item) => item.done)) document.getElementById("upload-done").hidden = false;
    }

    function addFile(file) {
      const row = document.createElement("li");
      row.className = "upload-item";
      const name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name + " (" + formatBytes(file.size) + ")";
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      const status = document.createElement("small");
      status.className = "upload-status";
      status.textContent = "Waiting…";
      row.append(name, bar, status);
      list.append(row);
      const item = { file: file, row: row, bar: bar, status: status, loaded: 0, done: false };
      items.push(item);
      queue.push(item);
    }

    function finish(item, ok, message, link) {
      item.done = true;
      item.loaded = item.file.size;
      item.bar.value = 100;
      item.row.classList.add(ok ? "upload-ok" : "upload-failed");
      item.status.textContent = message;
      if (link) {
        const anchor = document.createElement("a");
        anchor.href = link;
        anchor.textContent = " Open";
        item.status.append(anchor);
      }
      running -= 1;
      updateOverall();
      next();
    }

    function upload(item) {
      running += 1;
      const data = new FormData();
      data.append("file", item.file);
      data.append("category", form.elements.category.value);
      if (form.elements.tags.value.trim()) data.append("tags", form.elements.tags.value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.endpoint);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      item.status.textContent = "Uploading…";
      xhr.upload.onprogress = function (event) {
        if (!event.lengthComputable) return;
        item.loaded = event.loaded * (item.file.size / event.total);
        item.bar.value = Math.round((event.loaded / event.total) * 100);
        updateOverall();
      };
      xhr.onload = function () {
        if (xhr.status === 201) {
          const asset = JSON.parse(xhr.responseText);
          finish(item, true, "Uploaded; processing in the background.", form.dataset.mediaUrl + asset.id + "/");
        } else {
          finish(item, false, errorMessage(xhr));
        }
      };
      xhr.onerror = function () { finish(item, false, errorMessage(xhr)); };
      xhr.send(data);
    }

    function next() {
      while (running < PARALLEL && queue.length) upload(queue.shift());
    }

    function accept(files) {
      if (!files.length) return;
      document.getElementById("upload-progress").hidden = false;
      document.getElementById("upload-done").hidden = true;
      Array.from(files).forEach(addFile);
      updateOverall();
      next();
    }

    input.addEventListener("change", function () { accept(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("drop-active");
    }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("drop-active");
    }));
    zone.addEventListener("drop", function (event) { accept(event.dataTransfer.files); });
  });
})();
