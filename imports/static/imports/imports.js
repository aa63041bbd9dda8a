// Import page (issue 18): files up to 100 MB go in one request, larger ones
// through the resumable tus endpoints in 50 MB chunks; then the job is polled.
(function () {
  "use strict";
  var LIMIT = 100 * 1024 * 1024, CHUNK = 50 * 1024 * 1024;
  var form = document.getElementById("import-form");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var $ = function (id) { return document.getElementById(id); };
  var PHASES = {queued: "antre / queued", read: "membaca / reading", validate: "memeriksa / validating",
    membership: "wilayah / area membership", write: "menulis / writing", needs: "kebutuhan / needs", done: "selesai / done"};
  var STATUS = {queued: "antre / queued", running: "berjalan / running", done: "selesai / done",
    failed: "gagal / failed", cancelled: "dibatalkan / cancelled"};
  var current = null;

  function show(job) {
    $("job").hidden = false;
    $("bar").value = job.progress;
    $("pct").textContent = Math.round(job.progress * 100) + " %";
    $("status").textContent = STATUS[job.status] || job.status;
    $("phase").textContent = PHASES[job.phase] || job.phase;
    $("error").hidden = !job.error; $("error").textContent = job.error || "";
    $("cancel").hidden = !(job.status === "queued" || job.status === "running");
    if (job.report) {
      $("report").hidden = false;
      Array.prototype.forEach.call(document.querySelectorAll("#report [data-k]"), function (td) {
        td.textContent = job.report[td.getAttribute("data-k")];
      });
      var ul = $("reasons"); ul.innerHTML = "";
      Object.keys(job.report.reasons || {}).forEach(function (k) {
        var li = document.createElement("li"); li.textContent = job.report.reasons[k] + " × " + k; ul.appendChild(li);
      });
      $("reasons-title").hidden = !ul.children.length;
    }
    if (job.rejects_url) { $("rejects").hidden = false; $("rejects").href = job.rejects_url; }
  }

  function poll(url) {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (job) {
      current = job; show(job);
      if (job.status === "queued" || job.status === "running") setTimeout(function () { poll(url); }, 500);
    });
  }

  function tus(file) {
    var headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": csrf};
    var meta = "filename " + btoa(unescape(encodeURIComponent(file.name)));
    return fetch("/api/uploads/", {method: "POST", credentials: "same-origin",
      headers: Object.assign({"Upload-Length": String(file.size), "Upload-Metadata": meta}, headers)})
      .then(function (r) { if (r.status !== 201) throw new Error("upload refused: " + r.status); return r.headers.get("Location"); })
      .then(function (loc) {
        function send(offset) {
          if (offset >= file.size) return loc;
          $("upload-label").textContent = "Mengunggah / Uploading " + Math.round(100 * offset / file.size) + " %";
          return fetch(loc, {method: "PATCH", credentials: "same-origin", body: file.slice(offset, offset + CHUNK),
            headers: Object.assign({"Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset)}, headers)})
            .then(function (r) { return send(parseInt(r.headers.get("Upload-Offset"), 10)); },
                  function () {  // broken connection: ask where the server is and go on from there
                    return fetch(loc, {method: "HEAD", credentials: "same-origin", headers: headers})
                      .then(function (r) { return send(parseInt(r.headers.get("Upload-Offset"), 10)); });
                  });
        }
        return send(0);
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = $("file").files[0];
    var data = new FormData();
    ["layer", "source", "level"].forEach(function (k) { data.append(k, $(k).value); });
    var ready = file.size > LIMIT ? tus(file).then(function (loc) { data.append("upload", loc); })
                                  : Promise.resolve(data.append("file", file));
    $("job").hidden = false; $("status").textContent = "…";
    ready.then(function () {
      $("upload-label").textContent = "";
      return fetch("/api/imports/", {method: "POST", body: data, credentials: "same-origin", headers: {"X-CSRFToken": csrf}});
    }).then(function (r) { return r.json(); }).then(function (job) {
      if (!job.url) { $("error").hidden = false; $("error").textContent = job.detail; return; }
      show(job); poll(job.url);
    }).catch(function (e) { $("error").hidden = false; $("error").textContent = String(e); });
  });

  $("cancel").addEventListener("click", function () {
    if (!current) return;
    fetch(current.url, {method: "DELETE", credentials: "same-origin", headers: {"X-CSRFToken": csrf}})
      .then(function (r) { return r.json(); }).then(show);
  });
}());
