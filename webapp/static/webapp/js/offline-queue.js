/* The field app's outbox: every record and photo is stored on the device
 * before anything is sent, and marked sent only after the server confirmed
 * it, photos included. Pure logic: the store (IndexedDB in the browser,
 * memory in the unit tests), the HTTP call and the URLs are given to
 * createQueue(), so `node --test` runs the same code the browser runs.
 *
 * Record: {id (UUID = client_id), kind: "pju_create" | "pju_update" |
 *   "road_update" | "road_survey" | "wo_close", layer, featureId, properties, geometry,
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
 * - road survey (js/survey.js): the photos to the road first (their ids go in
 *   the survey), then POST /api/roads/{id}/survey/ with client_id (a retry
 *   gets the first survey, 200), then the IRI, if given, as an update over
 *   the version the survey left (409 → "conflict", as for any update).
 * - work order close: start (if assigned) then close with the photo; a 409
 *   saying the order is already done means our earlier close went through.
 * A network failure leaves the record pending; 401/403 keep it pending too
 * (log in again); another 4xx marks it failed with the server's message. */
import { fillUrl } from "./config.js";

export class NetworkDown extends Error {
  constructor(err) { super(String(err)); this.name = "NetworkDown"; }
}

/** A store in memory (unit tests; same interface as idbStore). Records are copied, as IndexedDB does. */
export function memoryStore() {
  const rows = new Map();
  const copy = (r) => (r === undefined ? undefined : structuredClone(r));
  return {
    put: async (record) => { rows.set(record.id, copy(record)); },
    get: async (id) => copy(rows.get(id)),
    all: async () => [...rows.values()].map(copy),
    remove: async (id) => { rows.delete(id); },
  };
}

/** The device's store: IndexedDB "gp-field" / "outbox". */
export function idbStore(indexedDB, name = "gp-field", storeName = "outbox") {
  let dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open(name, 1);
        req.onupgradeneeded = () => {
          const store = req.result.createObjectStore(storeName, { keyPath: "id" });
          store.createIndex("state", "state");
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  function tx(mode, fn) {
    return openDb().then((db) => new Promise((resolve, reject) => {
      const t = db.transaction(storeName, mode);
      const result = fn(t.objectStore(storeName));
      t.oncomplete = () => resolve(result && result.result !== undefined ? result.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    }));
  }
  return {
    put: (record) => tx("readwrite", (s) => { s.put(record); }),
    get: (id) => tx("readonly", (s) => s.get(id)),
    all: () => tx("readonly", (s) => s.getAll()),
    remove: (id) => tx("readwrite", (s) => { s.delete(id); }),
  };
}

/** fetch → {status, ok, data}; a network failure throws NetworkDown. */
export function fetchRequest(fetchFn, csrfFn) {
  return async function request(method, url, body, isForm) {
    const headers = { "X-CSRFToken": csrfFn(), Accept: "application/json" };
    if (body && !isForm) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetchFn(url, {
        method, credentials: "same-origin", headers, cache: "no-store",
        body: body ? (isForm ? body : JSON.stringify(body)) : undefined,
      });
    } catch (err) {
      throw new NetworkDown(err);
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text.slice(0, 200) }; }
    return { status: r.status, ok: r.ok, data };
  };
}

export function uuid4(cryptoObj = globalThis.crypto) {
  if (cryptoObj.randomUUID) return cryptoObj.randomUUID();
  const b = cryptoObj.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => ("0" + x.toString(16)).slice(-2)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

/**
 * The queue. options: store, request (see fetchRequest), urls ({collection: "/api/{layer}/",
 * feature: "/api/{layer}/{id}/", photos: "/api/{layer}/{id}/photos/", work_order: "/api/work-orders/{id}/",
 * survey: "/api/roads/{id}/survey/"}),
 * locks (navigator.locks or undefined), now (() => Date), uuid.
 */
export function createQueue({ store, request, urls, locks, now = () => new Date(), uuid = uuid4, FormDataClass = globalThis.FormData }) {
  const Q = {};
  const listeners = [];
  Q.onChange = (fn) => { listeners.push(fn); };
  Q.emit = () => { for (const fn of listeners) { try { fn(); } catch (e) { console.warn(e); } } };
  Q.put = async (record) => { await store.put(record); Q.emit(); return record; };
  Q.get = (id) => store.get(id);
  Q.all = async () => (await store.all()).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  Q.remove = async (id) => { await store.remove(id); Q.emit(); };
  Q.uuid = () => uuid();
  Q.request = request;
  Q.add = (record) => {
    record.id = record.id || uuid();
    record.state = "pending";
    record.createdAt = now().toISOString();
    record.photos = (record.photos || []).map((p) => ({ id: uuid(), blob: p.blob, name: p.name || "photo.jpg", sent: false, tried: false }));
    return Q.put(record);
  };

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
  async function sendPhotos(record) {
    const photosUrl = fillUrl(urls.photos, { layer: record.layer, id: record.serverId });
    for (const photo of record.photos) {
      if (photo.sent) continue;
      let already = null;
      if (photo.tried) {
        const res = await request("GET", photosUrl);
        already = (res.ok && Array.isArray(res.data) && res.data.find((p) => String(p.url).indexOf(photo.id) >= 0)) || null;
      }
      if (already) { photo.sent = true; photo.serverId = already.id; await Q.put(record); continue; }
      photo.tried = true;
      await Q.put(record);
      const form = new FormDataClass();
      form.append("image", photo.blob, photo.id + ".jpg");
      form.append("caption", record.caption || "");
      if (record.fix && record.fix.taken_at) form.append("taken_at", record.fix.taken_at);
      fixFields(form, record.fix);
      const res = await request("POST", photosUrl, form, true);
      if (res.status !== 201) { await fail(record, res); return false; }
      photo.sent = true;
      photo.serverId = res.data && res.data.id;
      await Q.put(record);
    }
    return true;
  }
  async function finish(record) {
    if (!(await sendPhotos(record))) return record;
    record.state = "sent";
    record.sentAt = now().toISOString();
    record.error = null; record.authProblem = false;
    for (const p of record.photos) p.blob = null;  // the server has them
    return Q.put(record);
  }
  async function sendCreate(record) {
    if (record.serverId) return finish(record);
    const props = Object.assign({}, record.properties, { client_id: record.id });
    const res = await request("POST", fillUrl(urls.collection, { layer: record.layer }), { type: "Feature", geometry: record.geometry, properties: props });
    if (res.status === 201 || res.status === 200) {
      record.serverId = res.data.id;
      await Q.put(record);
      return finish(record);
    }
    return fail(record, res);
  }
  async function sendUpdate(record) {
    if (record.patched) return finish(record);
    const props = Object.assign({}, record.properties, { version: record.baseVersion });
    const res = await request("PATCH", fillUrl(urls.feature, { layer: record.layer, id: record.featureId }), { properties: props });
    if (res.ok) {
      record.patched = true;
      record.serverId = record.featureId;
      record.newVersion = res.data && res.data.properties ? res.data.properties.version : null;
      await Q.put(record);
      return finish(record);
    }
    if (res.status === 409) {
      record.state = "conflict";
      record.current = res.data && res.data.current;
      record.error = res.data && res.data.detail;
      return Q.put(record);
    }
    return fail(record, res);
  }
  async function sendSurvey(record) {
    if (!record.surveyed) {
      record.serverId = record.featureId;  // the photos belong to the road
      if (!(await sendPhotos(record))) return record;
      const body = Object.assign({}, record.survey, {
        client_id: record.id, photos: record.photos.map((p) => p.serverId).filter((id) => id !== undefined && id !== null),
      });
      const res = await request("POST", fillUrl(urls.survey, { id: record.featureId }), body);
      if (res.status !== 201 && res.status !== 200) return fail(record, res);
      const survey = (res.data && res.data.survey) || {};
      const road = res.data && res.data.road;
      record.surveyed = true;
      record.result = { id: survey.id, sdi: survey.sdi, condition: survey.condition };
      if (road && road.properties) record.baseVersion = road.properties.version;
      await Q.put(record);
    }
    return record.properties ? sendUpdate(record) : finish(record);
  }
  async function sendClose(record) {
    const base = fillUrl(urls.work_order, { id: record.featureId });
    if (record.status === "assigned" && !record.started) {
      const res = await request("POST", base + "start/");
      if (res.ok || (res.status === 409 && res.data && res.data.status === "in_progress")) {
        record.started = true;
        await Q.put(record);
      } else if (!(res.status === 409 && res.data && res.data.status === "done")) {
        await fail(record, res);
        return record;
      }
    }
    const photo = record.photos[0];
    const form = new FormDataClass();
    if (photo && photo.blob) form.append("photo", photo.blob, photo.id + ".jpg");
    fixFields(form, record.fix);
    form.append("note", record.note || "");
    const res = await request("POST", base + "close/", form, true);
    const alreadyDone = res.status === 409 && res.data && res.data.status === "done";
    if (res.ok || alreadyDone) {
      for (const p of record.photos) { p.sent = true; p.blob = null; }
      record.state = "sent";
      record.sentAt = now().toISOString();
      record.error = null;
      return Q.put(record);
    }
    return fail(record, res);
  }
  const SENDERS = { pju_create: sendCreate, pju_update: sendUpdate, road_update: sendUpdate, road_survey: sendSurvey, wo_close: sendClose };

  /* A record sent for a feature makes earlier failed records of the same kind for it moot. */
  Q.clearSuperseded = async (sent) => {
    if (!sent.featureId) return;
    const rows = await Q.all();
    const moot = rows.filter((r) => r.id !== sent.id && r.state === "failed" && r.kind === sent.kind &&
      String(r.featureId) === String(sent.featureId) && r.createdAt <= sent.createdAt);
    await Promise.all(moot.map((r) => Q.remove(r.id)));
  };

  /* ---------- the sync loop ---------- */
  async function syncOnce() {
    const pending = (await Q.all()).filter((r) => r.state === "pending");
    const acc = { sent: 0, left: pending.length, offline: false };
    for (const record of pending) {
      if (acc.offline) break;
      try {
        const r = await SENDERS[record.kind](record);
        if (r && r.state === "sent") { acc.sent += 1; acc.left -= 1; await Q.clearSuperseded(r); }
      } catch (err) {
        if (err instanceof NetworkDown) { acc.offline = true; continue; }
        record.error = String(err);
        await Q.put(record);
      }
    }
    return acc;
  }
  let running = null;
  Q.sync = () => {
    if (running) return running;
    const work = locks && locks.request ? () => locks.request("gp-field-sync", syncOnce) : syncOnce;
    running = work().finally(() => { running = null; Q.emit(); });
    return running;
  };
  /* A conflict resolved by the officer: send again over the server's version, or drop it. */
  Q.resolveKeepMine = async (id) => {
    const record = await Q.get(id);
    record.baseVersion = record.current && record.current.properties ? record.current.properties.version : record.baseVersion;
    record.state = "pending";
    record.current = null; record.error = null;
    await Q.put(record);
    return Q.sync();
  };
  Q.discard = (id) => Q.remove(id);
  /* Retry a failed record; `changes` (e.g. {fix: a fresh GPS fix}) replace the stored values. */
  Q.retry = async (id, changes) => {
    const record = await Q.get(id);
    Object.assign(record, changes || {});
    record.state = "pending"; record.error = null; record.errorStatus = null; record.errorFields = [];
    await Q.put(record);
    return Q.sync();
  };
  return Q;
}
