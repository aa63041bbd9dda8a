// /lapor/: pick a PJU (the PJU layer, from zoom 16) or drop a pin, add a
// photo and a description, send to /open311/v2/requests.json with this
// page's session. Without a connection the report waits in IndexedDB and is
// sent on the next `online` event or page load.
import { queueAdd, queueAll, queueDelete } from "./lapor-queue.js";

const config = JSON.parse(document.getElementById("lapor-config").textContent);
const S = config.strings;
const $ = (id) => document.getElementById(id);
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const PJU_MIN_ZOOM = 16;

function deviceId() {
  let id = localStorage.getItem("lapor-device");
  if (!id) {
    id = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random().toString(16).slice(2);
    localStorage.setItem("lapor-device", id);
  }
  return id;
}

const map = L.map("map", { zoomControl: true });
if (config.basemap_url) L.tileLayer(config.basemap_url, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
if (config.extent) map.fitBounds([[config.extent[1], config.extent[0]], [config.extent[3], config.extent[2]]], { animate: false });
else map.setView([-6.18, 106.63], 13, { animate: false });

const lights = L.layerGroup().addTo(map);
let picked = null; // {lon, lat, pju_code?, pju_id?}
const pin = L.marker([0, 0], { draggable: true });

function showPicked() {
  const el = $("picked");
  if (!picked) { el.textContent = S.pick; return; }
  el.textContent = picked.pju_id
    ? `${S.picked_pju}: ${picked.pju_code || "#" + picked.pju_id}`
    : `${S.picked_pin} ${picked.lat.toFixed(6)}, ${picked.lon.toFixed(6)}`;
  el.dataset.pju = picked.pju_id || "";
}

function dropPin(latlng) {
  picked = { lon: latlng.lng, lat: latlng.lat };
  pin.setLatLng(latlng).addTo(map);
  showPicked();
}
pin.on("dragend", () => dropPin(pin.getLatLng()));
map.on("click", (e) => dropPin(e.latlng));

let loading = null;
async function loadLights() {
  if (map.getZoom() < PJU_MIN_ZOOM) { lights.clearLayers(); return; }
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  if (loading) loading.abort();
  loading = new AbortController();
  try {
    const r = await fetch(`${config.urls.pju}?bbox=${bbox}&limit=2000`, { signal: loading.signal, credentials: "same-origin" });
    if (!r.ok) return;
    const data = await r.json();
    lights.clearLayers();
    for (const f of data.features) {
      const [lon, lat] = f.geometry.coordinates;
      const p = f.properties;
      const m = L.circleMarker([lat, lon], {
        radius: 9, weight: 2, color: "#333", fillOpacity: 0.9,
        fillColor: p.status === "working" ? "#f9c74f" : p.status === "unknown" ? "#bbb" : "#d62828",
        className: "pju-dot",
      });
      m.on("click", (e) => {
        L.DomEvent.stop(e);
        picked = { lon, lat, pju_id: f.id, pju_code: p.code || "" };
        pin.setLatLng([lat, lon]).addTo(map);
        showPicked();
      });
      m.addTo(lights);
      const el = m.getElement();
      if (el) { el.dataset.pjuId = f.id; el.dataset.code = p.code || ""; }
    }
  } catch (err) {
    if (err.name !== "AbortError") console.warn("PJU layer", err);
  }
}
map.on("moveend", loadLights);
loadLights();

$("locate").addEventListener("click", () => {
  navigator.geolocation?.getCurrentPosition(
    (pos) => { const ll = L.latLng(pos.coords.latitude, pos.coords.longitude); map.setView(ll, 18, { animate: false }); dropPin(ll); },
    () => {}, { enableHighAccuracy: true, timeout: 15000 });
});

function say(html, kind) {
  const el = $("result");
  el.className = `result ${kind || ""}`;
  el.innerHTML = html;
}

function rememberMine(id) {
  const mine = JSON.parse(localStorage.getItem("lapor-mine") || "[]");
  if (!mine.includes(id)) mine.unshift(id);
  localStorage.setItem("lapor-mine", JSON.stringify(mine.slice(0, 20)));
  renderMine();
}

function renderMine() {
  const mine = JSON.parse(localStorage.getItem("lapor-mine") || "[]");
  $("mine").innerHTML = mine.map((id) => `<li><a href="${config.urls.status}${id}/">#${id}</a></li>`).join("");
}

// One attempt. Returns {ok, id} | {ok: false, retry: bool, message}
async function send(item) {
  const body = new FormData();
  for (const [k, v] of Object.entries(item.fields)) if (v !== "" && v != null) body.append(k, v);
  if (item.photo) body.append("media", item.photo, item.photo.name || "photo.jpg");
  let r;
  try {
    r = await fetch(config.urls.post, { method: "POST", body, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
  } catch (err) {
    return { ok: false, retry: true, message: String(err) };
  }
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.ok && data && data[0]) return { ok: true, id: data[0].service_request_id };
  const message = data && data[0] && data[0].description ? data[0].description : `HTTP ${r.status}`;
  return { ok: false, retry: r.status >= 500 || r.status === 0, message };
}

function sentMessage(id) {
  return `${S.sent} <strong id="sent-id">#${id}</strong> · <a id="status-link" href="${config.urls.status}${id}/">${S.see_status}</a>`;
}

let flushing = false;
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const item of await queueAll()) {
      const res = await send(item);
      if (res.ok) { await queueDelete(item.id); rememberMine(res.id); say(sentMessage(res.id), "ok"); }
      else if (!res.retry) { await queueDelete(item.id); say(`${S.error}: ${res.message}`, "error"); }
      else break; // still offline: keep the rest
    }
  } finally {
    flushing = false;
    const left = (await queueAll()).length;
    document.body.dataset.pending = String(left);
  }
}

$("report").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!picked) { say(S.no_location, "error"); return; }
  const photo = $("photo").files[0] || null;
  if (photo && photo.size > config.max_photo_bytes) { say(`${S.error}: > 10 MB`, "error"); return; }
  const service = $("service").value;
  const fields = {
    service_code: service, lat: picked.lat.toFixed(7), long: picked.lon.toFixed(7),
    description: $("description").value, first_name: $("name").value, phone: $("phone").value, email: $("email").value,
    device_id: deviceId(),
  };
  const lightService = config.services.find((s) => s.code === service)?.asset === "pju";
  if (picked.pju_code && lightService) fields["attribute[pju_code]"] = picked.pju_code;
  const item = { fields, photo, at: new Date().toISOString() };
  $("send").disabled = true;
  say(S.sending, "");
  const res = await send(item);
  $("send").disabled = false;
  if (res.ok) {
    rememberMine(res.id);
    say(sentMessage(res.id), "ok");
    $("report").reset();
  } else if (res.retry) {
    await queueAdd(item);
    document.body.dataset.pending = String((await queueAll()).length);
    say(`<span id="queued">${S.queued}</span>`, "queued");
    $("report").reset();
  } else {
    say(`${S.error}: ${res.message}`, "error");
  }
});

window.addEventListener("online", flush);
renderMine();
flush();
