/* The field app's outbox: every record and photo is stored on the device
 * (IndexedDB) before anything is sent, and marked sent only after the server
 * confirmed it, photos included.
 *
 * Record: {id (UUID = client_id), kind: "pju_create" | "pju_update" |
 *   "road_update" | "wo_close", layer, featureId, properties, geometry,
 *   baseVersion, fix: {lon, lat, accuracy_m, taken_at}, photos: [{id, blob,
 *   name, sent, tried}], state: "pending" | "sent" | "conflict" | "failed",
 *   serverId, current (the server's feature on a conflict), error, createdAt}
 *
 * Sync (one at a time, also across tabs with the Web Locks API):
 * - create: POST with properties.client_id; a retry of a lost response gets
 *   the first result (200), never a duplicate. The server id is stored
 *   before the photos are sent.
 * - update: PATCH with the version the officer saw; 409 → state "conflict"
 *   with the server's feature, shown to the officer (nothing overwritten).
 * - photos: uploaded as "<photo id>.jpg"; a retry first looks at the
 *   feature's photos for that name, so a photo whose answer was lost is not
 *   uploaded twice.
 * - work order close: start (if assigned) then close with the photo; a 409
 *   saying the order is already done means our earlier close went through.
 * A network failure leaves the record pending; 401/403 keep it pending too
 * (log in again); another 4xx marks it failed with the server's message. */
(function () {
  "use strict";
  var DB_NAME = "gp-field", STORE = "outbox", DB_VERSION = 1;
  var Q = (window.GPQueue = {});
  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function () {
        var store = req.result.createObjectStore(STORE, { keyPath: "id" });
        store.createIndex("state", "state");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return dbPromise;
  }
  function tx(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  Q.put = function (record) { return tx("readwrite", function (s) { s.put(record); }).then(function () { Q.emit(); return record; }); };
  Q.get = function (id) { return tx("readonly", function (s) { return s.get(id); }); };
  Q.all = function () {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return rows.sort(function (a, b) { return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0; });
    });
  };
  Q.remove = function (id) { return tx("readwrite", function (s) { s.delete(id); }).then(function () { Q.emit(); }); };
  Q.uuid = function () {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  };
  Q.add = function (record) {
    record.id = record.id || Q.uuid();
    record.state = "pending";
    record.createdAt = new Date().toISOString();
    record.photos = (record.photos || []).map(function (p) {
      return { id: Q.uuid(), blob: p.blob, name: p.name || "photo.jpg", sent: false, tried: false };
    });
    return Q.put(record);
  };

  var listeners = [];
  Q.onChange = function (fn) { listeners.push(fn); };
  Q.emit = function () { listeners.forEach(function (fn) { try { fn(); } catch (e) { console.warn(e); } }); };

  /* ---------- HTTP ---------- */
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function NetworkDown(err) { this.name = "NetworkDown"; this.message = String(err); }
  function request(method, url, body, isForm) {
    var headers = { "X-CSRFToken": csrf(), Accept: "application/json" };
    if (body && !isForm) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers, cache: "no-store",
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined,
    }).catch(function (err) { throw new NetworkDown(err); }).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
        return { status: r.status, ok: r.ok, data: data };
      });
    });
  }
  Q.request = request;
  function fixFields(form, fix) {
    if (!fix) return;
    if (fix.lon !== undefined && fix.lon !== null) { form.append("lon", fix.lon); form.append("lat", fix.lat); }
    if (fix.accuracy_m !== undefined && fix.accuracy_m !== null) form.append("accuracy_m", fix.accuracy_m);
  }

  /* ---------- one record ---------- */
  function fail(record, res) {
    if (res.status === 401 || res.status === 403) {
      record.error = (res.data && res.data.detail) || "login";
      record.authProblem = true;
      return Q.put(record);  // stays pending: nothing is lost, sent after logging in again
    }
    record.state = "failed";
    record.error = (res.data && res.data.detail) || ("HTTP " + res.status);
    record.errorStatus = res.status;
    record.errorFields = res.data && res.data.errors && typeof res.data.errors === "object" ? Object.keys(res.data.errors) : [];
    return Q.put(record);
  }
  function sendPhotos(record) {
    var layer = record.layer, id = record.serverId;
    var chain = Promise.resolve(true);
    record.photos.forEach(function (photo) {
      chain = chain.then(function (okSoFar) {
        if (!okSoFar || photo.sent) return okSoFar;
        var fileName = photo.id + ".jpg";
        var check = photo.tried
          ? request("GET", "/api/" + layer + "/" + id + "/photos/").then(function (res) {
              return res.ok && Array.isArray(res.data) && res.data.some(function (p) { return String(p.url).indexOf(photo.id) >= 0; });
            })
          : Promise.resolve(false);
        return check.then(function (already) {
          if (already) { photo.sent = true; return Q.put(record).then(function () { return true; }); }
          photo.tried = true;
          return Q.put(record).then(function () {
            var form = new FormData();
            form.append("image", photo.blob, fileName);
            form.append("caption", record.caption || "");
            if (record.fix && record.fix.taken_at) form.append("taken_at", record.fix.taken_at);
            fixFields(form, record.fix);
            return request("POST", "/api/" + layer + "/" + id + "/photos/", form, true);
          }).then(function (res) {
            if (res.status === 201) { photo.sent = true; return Q.put(record).then(function () { return true; }); }
            return fail(record, res).then(function () { return false; });
          });
        });
      });
    });
    return chain;
  }
  function finish(record) {
    return sendPhotos(record).then(function (ok) {
      if (!ok) return record;
      record.state = "sent";
      record.sentAt = new Date().toISOString();
      record.error = null; record.authProblem = false;
      record.photos.forEach(function (p) { p.blob = null; });  // the server has them
      return Q.put(record);
    });
  }
  function sendCreate(record) {
    if (record.serverId) return finish(record);
    var props = Object.assign({}, record.properties, { client_id: record.id });
    return request("POST", "/api/" + record.layer + "/", { type: "Feature", geometry: record.geometry, properties: props }).then(function (res) {
      if (res.status === 201 || res.status === 200) {
        record.serverId = res.data.id;
        return Q.put(record).then(function () { return finish(record); });
      }
      return fail(record, res);
    });
  }
  function sendUpdate(record) {
    if (record.patched) return finish(record);
    var props = Object.assign({}, record.properties, { version: record.baseVersion });
    return request("PATCH", "/api/" + record.layer + "/" + record.featureId + "/", { properties: props }).then(function (res) {
      if (res.ok) {
        record.patched = true;
        record.serverId = record.featureId;
        record.newVersion = res.data && res.data.properties ? res.data.properties.version : null;
        return Q.put(record).then(function () { return finish(record); });
      }
      if (res.status === 409) {
        record.state = "conflict";
        record.current = res.data && res.data.current;
        record.error = res.data && res.data.detail;
        return Q.put(record);
      }
      return fail(record, res);
    });
  }
  function sendClose(record) {
    var base = "/api/work-orders/" + record.featureId + "/";
    var start = record.status === "assigned" && !record.started
      ? request("POST", base + "start/").then(function (res) {
          if (res.ok || (res.status === 409 && res.data && res.data.status === "in_progress")) { record.started = true; return Q.put(record).then(function () { return true; }); }
          if (res.status === 409 && res.data && res.data.status === "done") return true;
          return fail(record, res).then(function () { return false; });
        })
      : Promise.resolve(true);
    return start.then(function (ok) {
      if (!ok) return record;
      var photo = record.photos[0];
      var form = new FormData();
      if (photo && photo.blob) form.append("photo", photo.blob, photo.id + ".jpg");
      fixFields(form, record.fix);
      form.append("note", record.note || "");
      return request("POST", base + "close/", form, true).then(function (res) {
        var alreadyDone = res.status === 409 && res.data && res.data.status === "done";
        if (res.ok || alreadyDone) {
          record.photos.forEach(function (p) { p.sent = true; p.blob = null; });
          record.state = "sent";
          record.sentAt = new Date().toISOString();
          record.error = null;
          return Q.put(record);
        }
        return fail(record, res);
      });
    });
  }
  var SENDERS = { pju_create: sendCreate, pju_update: sendUpdate, road_update: sendUpdate, wo_close: sendClose };

  /* A record sent for a feature makes earlier failed records of the same kind for it moot. */
  function clearSuperseded(sent) {
    if (!sent.featureId) return Promise.resolve();
    return Q.all().then(function (rows) {
      var moot = rows.filter(function (r) {
        return r.id !== sent.id && r.state === "failed" && r.kind === sent.kind && String(r.featureId) === String(sent.featureId) && r.createdAt <= sent.createdAt;
      });
      return Promise.all(moot.map(function (r) { return Q.remove(r.id); }));
    });
  }
  Q.clearSuperseded = clearSuperseded;

  /* ---------- the sync loop ---------- */
  var running = null;
  function syncOnce() {
    return Q.all().then(function (rows) {
      var pending = rows.filter(function (r) { return r.state === "pending"; });
      var chain = Promise.resolve({ sent: 0, left: pending.length, offline: false });
      pending.forEach(function (record) {
        chain = chain.then(function (acc) {
          if (acc.offline) return acc;
          return SENDERS[record.kind](record).then(function (r) {
            if (r && r.state === "sent") { acc.sent += 1; acc.left -= 1; return clearSuperseded(r).then(function () { return acc; }); }
            return acc;
          }).catch(function (err) {
            if (err instanceof NetworkDown) { acc.offline = true; return acc; }
            record.error = String(err);
            return Q.put(record).then(function () { return acc; });
          });
        });
      });
      return chain;
    });
  }
  Q.sync = function () {
    if (running) return running;
    var work = navigator.locks && navigator.locks.request
      ? function () { return navigator.locks.request("gp-field-sync", syncOnce); }
      : syncOnce;
    running = work().finally(function () { running = null; Q.emit(); });
    return running;
  };
  /* A conflict resolved by the officer: send again over the server's version, or drop it. */
  Q.resolveKeepMine = function (id) {
    return Q.get(id).then(function (record) {
      record.baseVersion = record.current && record.current.properties ? record.current.properties.version : record.baseVersion;
      record.state = "pending";
      record.current = null; record.error = null;
      return Q.put(record);
    }).then(Q.sync);
  };
  Q.discard = function (id) { return Q.remove(id); };
  /* Retry a failed record; `changes` (e.g. {fix: a fresh GPS fix}) replace the stored values. */
  Q.retry = function (id, changes) {
    return Q.get(id).then(function (record) {
      Object.assign(record, changes || {});
      record.state = "pending"; record.error = null; record.errorStatus = null; record.errorFields = [];
      return Q.put(record);
    }).then(Q.sync);
  };
})();
