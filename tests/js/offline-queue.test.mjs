// The field app's offline queue (webapp/static/webapp/js/offline-queue.js) against a scripted server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetworkDown, createQueue, memoryStore } from "../../webapp/static/webapp/js/offline-queue.js";

const URLS = { collection: "/api/{layer}/", feature: "/api/{layer}/{id}/", photos: "/api/{layer}/{id}/photos/", work_order: "/api/work-orders/{id}/",
               survey: "/api/roads/{id}/survey/" };

/** A server answering from a list of [method, url, status, data] in order; every call is recorded. */
function scripted(answers) {
  const calls = [];
  const request = async (method, url, body, isForm) => {
    calls.push({ method, url, body, isForm });
    const next = answers.shift();
    if (!next) throw new Error("unexpected call " + method + " " + url);
    const [m, u, status, data] = next;
    assert.equal(method + " " + url, m + " " + u);
    if (status === "down") throw new NetworkDown("offline");
    return { status, ok: status >= 200 && status < 300, data };
  };
  return { request, calls, answers };
}

let n = 0;
const ids = () => "00000000-0000-4000-8000-" + String(++n).padStart(12, "0");
function queueWith(server) {
  return createQueue({ store: memoryStore(), request: server.request, urls: URLS, uuid: ids, now: () => new Date("2026-12-03T10:00:00Z") });
}
const photo = () => ({ blob: new Blob(["jpeg bytes"], { type: "image/jpeg" }), name: "p.jpg" });

test("a new PJU is posted with its client_id, then its photo; both confirmed → sent, blob dropped", async () => {
  const server = scripted([
    ["POST", "/api/pju/", 201, { id: 41 }],
    ["POST", "/api/pju/41/photos/", 201, { url: "/media/x.jpg" }],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "pju_create", layer: "pju", properties: { status: "working" }, geometry: { type: "Point", coordinates: [106.6, -6.2] },
                            photos: [photo()], fix: { lon: 106.6, lat: -6.2, accuracy_m: 4, taken_at: "2026-12-03T09:59:00Z" } });
  const result = await Q.sync();
  assert.deepEqual(result, { sent: 1, left: 0, offline: false });
  assert.equal(server.calls[0].body.properties.client_id, rec.id);
  assert.equal(server.calls[0].body.properties.status, "working");
  const form = server.calls[1].body;
  assert.equal(server.calls[1].isForm, true);
  assert.equal(form.get("image").name, rec.photos[0].id + ".jpg");
  assert.equal(form.get("lon"), "106.6");
  assert.equal(form.get("accuracy_m"), "4");
  const stored = await Q.get(rec.id);
  assert.equal(stored.state, "sent");
  assert.equal(stored.serverId, 41);
  assert.equal(stored.photos[0].sent, true);
  assert.equal(stored.photos[0].blob, null);
});

test("offline: the record stays pending and nothing after it is tried", async () => {
  const server = scripted([["POST", "/api/pju/", "down"]]);
  const Q = queueWith(server);
  const a = await Q.add({ kind: "pju_create", layer: "pju", properties: {}, geometry: null });
  await Q.add({ kind: "road_update", layer: "roads", featureId: 9, properties: { condition: "heavy_damage" }, baseVersion: 3 });
  const result = await Q.sync();
  assert.deepEqual(result, { sent: 0, left: 2, offline: true });
  assert.equal(server.calls.length, 1);
  assert.equal((await Q.get(a.id)).state, "pending");
});

test("a photo whose answer was lost is looked up before it is sent again (no duplicate upload)", async () => {
  const server = scripted([
    ["POST", "/api/pju/", 201, { id: 7 }],
    ["POST", "/api/pju/7/photos/", "down"],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "pju_create", layer: "pju", properties: {}, geometry: null, photos: [photo()] });
  assert.equal((await Q.sync()).offline, true);
  const photoId = (await Q.get(rec.id)).photos[0].id;
  // back online: the server did store it the first time
  server.answers.push(["GET", "/api/pju/7/photos/", 200, [{ url: "/media/pju/7/" + photoId + ".jpg" }]]);
  const result = await Q.sync();
  assert.deepEqual(result, { sent: 1, left: 0, offline: false });
  assert.deepEqual(server.calls.map((c) => c.method + " " + c.url), ["POST /api/pju/", "POST /api/pju/7/photos/", "GET /api/pju/7/photos/"]);
});

test("an update on a changed feature becomes a conflict with the server's version; keep mine resends over it", async () => {
  const current = { properties: { version: 5, status: "off" } };
  const server = scripted([
    ["PATCH", "/api/pju/12/", 409, { detail: "version 3 is stale", current }],
    ["PATCH", "/api/pju/12/", 200, { properties: { version: 6 } }],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "pju_update", layer: "pju", featureId: 12, properties: { status: "damaged" }, baseVersion: 3 });
  await Q.sync();
  const conflict = await Q.get(rec.id);
  assert.equal(conflict.state, "conflict");
  assert.equal(conflict.current.properties.version, 5);
  assert.equal(server.calls[0].body.properties.version, 3);
  await Q.resolveKeepMine(rec.id);
  assert.equal(server.calls[1].body.properties.version, 5);
  const done = await Q.get(rec.id);
  assert.equal(done.state, "sent");
  assert.equal(done.newVersion, 6);
});

test("401 keeps the record pending (log in again); 400 fails it with the fields the server named", async () => {
  const server = scripted([
    ["POST", "/api/pju/", 401, { detail: "login needed" }],
    ["POST", "/api/pju/", 400, { detail: "bad wattage", errors: { wattage_w: ["too large"] } }],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "pju_create", layer: "pju", properties: { wattage_w: 99999 }, geometry: null });
  await Q.sync();
  let r = await Q.get(rec.id);
  assert.equal(r.state, "pending");
  assert.equal(r.authProblem, true);
  await Q.sync();
  r = await Q.get(rec.id);
  assert.equal(r.state, "failed");
  assert.equal(r.errorStatus, 400);
  assert.deepEqual(r.errorFields, ["wattage_w"]);
});

test("closing an assigned work order starts it first; a 409 'done' on close means an earlier close went through", async () => {
  const server = scripted([
    ["POST", "/api/work-orders/5/start/", 200, { status: "in_progress" }],
    ["POST", "/api/work-orders/5/close/", 409, { status: "done", detail: "already done" }],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "wo_close", layer: "work-orders", featureId: 5, status: "assigned", note: "fixed", photos: [photo()] });
  assert.deepEqual(await Q.sync(), { sent: 1, left: 0, offline: false });
  const form = server.calls[1].body;
  assert.equal(form.get("note"), "fixed");
  assert.equal(form.get("photo").name, rec.photos[0].id + ".jpg");
  assert.equal((await Q.get(rec.id)).state, "sent");
});

test("a sent record clears earlier failed records of the same kind for the same feature, and only those", async () => {
  const server = scripted([
    ["PATCH", "/api/roads/9/", 400, { detail: "no" }],
    ["PATCH", "/api/roads/9/", 200, { properties: { version: 2 } }],
  ]);
  const Q = queueWith(server);
  const first = await Q.add({ kind: "road_update", layer: "roads", featureId: 9, properties: {}, baseVersion: 1 });
  await Q.sync();
  const other = await Q.put({ id: "other", kind: "road_update", featureId: 10, state: "failed", createdAt: "2026-01-01T00:00:00Z", photos: [] });
  const second = await Q.add({ kind: "road_update", layer: "roads", featureId: 9, properties: {}, baseVersion: 1 });
  await Q.sync();
  const left = (await Q.all()).map((r) => r.id).sort();
  assert.deepEqual(left, [other.id, second.id].sort());
  assert.equal(await Q.get(first.id), undefined);
});

test("one sync at a time: a second call while one runs gets the same promise", async () => {
  const server = scripted([["POST", "/api/pju/", 201, { id: 1 }]]);
  const Q = queueWith(server);
  await Q.add({ kind: "pju_create", layer: "pju", properties: {}, geometry: null });
  const a = Q.sync(), b = Q.sync();
  assert.equal(a, b);
  await a;
  assert.equal(server.calls.length, 1);
});

/* ---------- road condition survey (js/survey.js records) ---------- */
const SURVEY = { crack_area_pct: 20, crack_width_mm: 5, potholes_per_100m: 12, rut_depth_cm: 2, surveyed_on: "2026-12-03" };
const surveyed = (version) => ({ survey: { id: 70, sdi: 125, condition: "light_damage" }, road: { id: 9, properties: { version } } });

test("a survey sends its photo to the road first, then the survey with the photo's id and its client_id, then the IRI over the new version", async () => {
  const server = scripted([
    ["POST", "/api/roads/9/photos/", 201, { id: 501, url: "/media/photos/x.jpg" }],
    ["POST", "/api/roads/9/survey/", 201, surveyed(4)],
    ["PATCH", "/api/roads/9/", 200, { id: 9, properties: { version: 5, iri: 13.5 } }],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "road_survey", layer: "roads", featureId: 9, baseVersion: 3, survey: SURVEY, properties: { iri: 13.5 },
                            photos: [photo()], fix: { lon: 106.6, lat: -6.2, accuracy_m: 4, taken_at: "2026-12-03T09:59:00Z" } });
  assert.deepEqual(await Q.sync(), { sent: 1, left: 0, offline: false });
  assert.equal(server.calls[0].body.get("image").name, rec.photos[0].id + ".jpg");
  assert.deepEqual(server.calls[1].body, { ...SURVEY, client_id: rec.id, photos: [501] });
  assert.deepEqual(server.calls[2].body, { properties: { iri: 13.5, version: 4 } });  // the version the survey left, not 3
  const stored = await Q.get(rec.id);
  assert.equal(stored.state, "sent");
  assert.deepEqual(stored.result, { id: 70, sdi: 125, condition: "light_damage" });
  assert.equal(stored.photos[0].blob, null);
});

test("a survey without IRI is sent after the survey; a lost answer is retried without a second photo or survey", async () => {
  const server = scripted([
    ["POST", "/api/roads/9/photos/", 201, { id: 501, url: "/media/photos/x.jpg" }],
    ["POST", "/api/roads/9/survey/", "down"],
  ]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "road_survey", layer: "roads", featureId: 9, baseVersion: 3, survey: SURVEY, properties: null, photos: [photo()] });
  assert.deepEqual(await Q.sync(), { sent: 0, left: 1, offline: true });
  assert.equal((await Q.get(rec.id)).state, "pending");
  // back online: the photo is known (sent), the survey is posted again with the same client_id (the server answers 200)
  server.answers.push(["POST", "/api/roads/9/survey/", 200, surveyed(4)]);
  assert.deepEqual(await Q.sync(), { sent: 1, left: 0, offline: false });
  assert.equal(server.calls.length, 3);
  assert.equal(server.calls[2].body.client_id, rec.id);
  assert.deepEqual(server.calls[2].body.photos, [501]);
});

test("a photo whose answer was lost is found by name and its id still goes in the survey", async () => {
  const server = scripted([]);
  const Q = queueWith(server);
  const rec = await Q.add({ kind: "road_survey", layer: "roads", featureId: 9, survey: SURVEY, properties: null, photos: [photo(), photo()] });
  rec.photos[0].tried = true;  // sent before, its answer lost
  await Q.put(rec);
  server.answers.push(
    ["GET", "/api/roads/9/photos/", 200, [{ id: 8, url: "/media/photos/other.jpg" }, { id: 501, url: "/media/photos/" + rec.photos[0].id + ".jpg" }]],
    ["POST", "/api/roads/9/photos/", 201, { id: 502, url: "/media/photos/y.jpg" }],
    ["POST", "/api/roads/9/survey/", 201, surveyed(4)],
  );
  assert.deepEqual(await Q.sync(), { sent: 1, left: 0, offline: false });
  assert.deepEqual(server.calls.map((c) => c.method + " " + c.url), ["GET /api/roads/9/photos/", "POST /api/roads/9/photos/", "POST /api/roads/9/survey/"]);
  assert.deepEqual(server.calls[2].body.photos, [501, 502]);
});

test("a refused survey fails with the fields the server named; an IRI refused by a newer version becomes a conflict", async () => {
  const server = scripted([
    ["POST", "/api/roads/9/survey/", 400, { detail: "crack_area_pct: too large", errors: { crack_area_pct: ["≤ 100"] } }],
    ["POST", "/api/roads/7/survey/", 201, surveyed(2)],
    ["PATCH", "/api/roads/7/", 409, { detail: "stale", current: { id: 7, properties: { version: 3, iri: 6 } } }],
  ]);
  const Q = queueWith(server);
  const bad = await Q.add({ kind: "road_survey", layer: "roads", featureId: 9, survey: { ...SURVEY, crack_area_pct: 120 }, properties: null });
  const iri = await Q.add({ kind: "road_survey", layer: "roads", featureId: 7, survey: SURVEY, properties: { iri: 13.5 } });
  await Q.sync();
  const failed = await Q.get(bad.id);
  assert.equal(failed.state, "failed");
  assert.deepEqual(failed.errorFields, ["crack_area_pct"]);
  const conflict = await Q.get(iri.id);
  assert.equal(conflict.state, "conflict");
  assert.equal(conflict.surveyed, true);  // the survey itself went through; only the IRI waits
  // keep mine: the IRI goes again over the server's version, the survey is not sent twice
  server.answers.push(["PATCH", "/api/roads/7/", 200, { id: 7, properties: { version: 4 } }]);
  await Q.resolveKeepMine(iri.id);
  assert.deepEqual(server.calls.at(-1).body, { properties: { iri: 13.5, version: 3 } });
  assert.equal((await Q.get(iri.id)).state, "sent");
});
