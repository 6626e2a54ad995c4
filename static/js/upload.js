// Uploads each chosen or dropped file to the API with its own progress bar, two at a time, plus an overall bar.
(function () {
  "use strict";
  const PARALLEL = 2;
  const MAX_RETRIES = 8;

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

  // One HTTP request as a promise of {status, json}; status 0 means the connection failed.
  function send(method, url, body, headers, onProgress) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      Object.entries(headers || {}).forEach(([name, value]) => xhr.setRequestHeader(name, value));
      if (onProgress) xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded);
      xhr.onload = function () {
        let json = null;
        try { json = JSON.parse(xhr.responseText); } catch (ignored) { /* an empty or HTML body */ }
        resolve({ status: xhr.status, json: json, xhr: xhr });
      };
      xhr.onerror = () => resolve({ status: 0, json: null, xhr: xhr });
      xhr.send(body);
    });
  }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

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
        anchor.textContent = "Open";
        item.status.append(" ", anchor);
      }
      running -= 1;
      updateOverall();
      next();
    }

    const chunkedAbove = Number(form.dataset.chunkedAbove);
    const jsonHeaders = { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" };

    function description() {
      return { category: form.elements.category.value, tags: form.elements.tags.value };
    }

    // Large files go in chunks; after a dropped connection the upload asks the server where it stands and
    // goes on from there, backing off up to half a minute between tries.
    async function uploadInChunks(item) {
      running += 1;
      item.status.textContent = "Uploading…";
      const size = item.file.size;
      const started = await send("POST", form.dataset.uploadsEndpoint, JSON.stringify({ file_name: item.file.name, size: size }), jsonHeaders);
      if (started.status !== 201) return finish(item, false, errorMessage(started.xhr));
      const session = started.json;
      const sessionUrl = form.dataset.uploadsEndpoint + session.id + "/";
      let offset = session.offset;
      let failures = 0;
      while (offset < size) {
        const end = Math.min(offset + session.chunk_size, size);
        const chunkStart = offset;
        const sent = await send("PUT", sessionUrl, item.file.slice(offset, end), {
          "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + size,
          "Content-Type": "application/octet-stream",
          "X-CSRFToken": csrf,
        }, function (loaded) {
          item.loaded = chunkStart + loaded;
          item.bar.value = Math.round((item.loaded / size) * 100);
          updateOverall();
        });
        if (sent.status === 200) {
          offset = sent.json.offset;
          failures = 0;
          item.status.textContent = "Uploading…";
          continue;
        }
        if (sent.status !== 0 && sent.status !== 409 && sent.status < 500) return finish(item, false, errorMessage(sent.xhr));
        failures += 1;
        if (failures > MAX_RETRIES) return finish(item, false, "The connection keeps dropping; try again later.");
        const wait = Math.min(30, 2 ** (failures - 1));
        item.status.textContent = "Connection lost; resuming in " + wait + " s…";
        await sleep(wait * 1000);
        const where = await send("GET", sessionUrl, null, { "Accept": "application/json" });
        if (where.status === 200) offset = where.json.offset;
      }
      item.status.textContent = "Checking the file…";
      const done = await send("POST", sessionUrl + "complete/", JSON.stringify(description()), jsonHeaders);
      if (done.status !== 201) return finish(item, false, errorMessage(done.xhr));
      finish(item, true, "Uploaded; processing in the background.", form.dataset.mediaUrl + done.json.id + "/");
    }

    // With object storage, a large file goes straight to the bucket through a presigned form, then the
    // server checks it; the policy admits only this file's size, type and key.
    async function uploadDirect(item) {
      running += 1;
      item.status.textContent = "Uploading…";
      const started = await send("POST", form.dataset.uploadsEndpoint, JSON.stringify({
        file_name: item.file.name, size: item.file.size, direct: true, content_type: item.file.type,
      }), jsonHeaders);
      if (started.status !== 201) return finish(item, false, errorMessage(started.xhr));
      const data = new FormData();
      Object.entries(started.json.s3.fields).forEach(([name, value]) => data.append(name, value));
      data.append("file", item.file);
      const posted = await send("POST", started.json.s3.url, data, {}, function (loaded) {
        item.loaded = Math.min(loaded, item.file.size);
        item.bar.value = Math.round((item.loaded / item.file.size) * 100);
        updateOverall();
      });
      if (posted.status < 200 || posted.status >= 300) {
        return finish(item, false, "The storage refused the file (" + (posted.status || "connection lost") + "); try again.");
      }
      item.status.textContent = "Checking the file…";
      const sessionUrl = form.dataset.uploadsEndpoint + started.json.id + "/";
      const done = await send("POST", sessionUrl + "complete/", JSON.stringify(description()), jsonHeaders);
      if (done.status !== 201) return finish(item, false, errorMessage(done.xhr));
      finish(item, true, "Uploaded; processing in the background.", form.dataset.mediaUrl + done.json.id + "/");
    }

    async function upload(item) {
      if (item.file.size > chunkedAbove) {
        const direct = form.dataset.directTypes.split(" ").includes(item.file.type);
        return direct ? uploadDirect(item) : uploadInChunks(item);
      }
      running += 1;
      const data = new FormData();
      data.append("file", item.file);
      const fields = description();
      data.append("category", fields.category);
      if (fields.tags.trim()) data.append("tags", fields.tags);
      item.status.textContent = "Uploading…";
      const sent = await send("POST", form.dataset.endpoint, data, { "X-CSRFToken": csrf, "Accept": "application/json" }, function (loaded) {
        item.loaded = Math.min(loaded, item.file.size);
        item.bar.value = Math.round((item.loaded / item.file.size) * 100);
        updateOverall();
      });
      if (sent.status === 201) {
        finish(item, true, "Uploaded; processing in the background.", form.dataset.mediaUrl + sent.json.id + "/");
      } else {
        finish(item, false, errorMessage(sent.xhr));
      }
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
