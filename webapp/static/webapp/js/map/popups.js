/* Popups: the fields people need (cfg.popup_fields), in their language;
 * names, not ids; the "create work order" form on a need. */
import { fillUrl } from "../config.js";
import { csrf, el, esc, fmt } from "../format.js";
import { localTime } from "../i18n.js";

export function createPopups({ L, map, cfg, GP, label, kecByCode }) {
  const S = cfg.strings, C = cfg.codes;
  const featureUrl = (api, id) => fillUrl(cfg.urls.feature, { api, id });
  const roadNames = {};
  function roadName(id) {
    if (roadNames[id]) return Promise.resolve(roadNames[id]);
    return fetch(featureUrl("roads", id), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((f) => { roadNames[id] = (f && f.properties && f.properties.name) || S.unnamed_road; return roadNames[id]; })
      .catch(() => S.unnamed_road);
  }
  function shownValue(k, v, props) {
    if (k === "kecamatan" || k === "kelurahan") return (cfg.area_names || {})[v] || (kecByCode[v] && kecByCode[v].name) || (typeof v === "object" ? v.name : "");
    if (k === "road_id") return props._road_name || "…";
    if (/_at$/.test(k)) return localTime(v);
    if (k === "legal") return label("boolean", String(v));
    if (k === "status" && props._wo) return label("wo_status", v);
    if (k === "kind" && props._wo) return label("wo_kind", v);
    if (k === "lamp" && typeof v === "object") return v.label || v.code || "";
    if (cfg.value_groups[k] && C[cfg.value_groups[k]]) return label(cfg.value_groups[k], v);
    if (C[k]) return label(k, v);
    if (typeof v === "number") return k === "cost" ? "Rp " + fmt(v, 0) : fmt(v, k === "priority" ? 2 : 1);
    return v;
  }
  function propsTable(def, props) {
    const key = def ? (def.api || def.style) : "";
    const fields = cfg.popup_fields[key] || cfg.popup_fields[def && def.style] || [];
    let rows = "";
    for (const k of fields) {
      const v = props[k];
      if (v === null || v === undefined || v === "") continue;
      if (typeof v === "object" && k !== "lamp" && k !== "kecamatan" && k !== "kelurahan") continue;
      rows += "<tr><th scope='row'>" + esc(cfg.fields[k] || k) + "</th><td data-field='" + esc(k) + "'>" + esc(shownValue(k, v, props)) + "</td></tr>";
    }
    return "<table class='gp-props'>" + rows + "</table>";
  }
  function photosHtml(photos) {
    if (!photos || !photos.length) return "";
    return "<div class='gp-photos'><b>" + esc(S.photos) + "</b><br>" + photos.map((p) =>
      "<a href='" + esc(p.url) + "' target='_blank' rel='noopener'><img src='" + esc(p.url) + "' alt='" + esc(p.caption || S.photos) + "' loading='lazy'></a>").join("") + "</div>";
  }
  function woFormHtml(def, props) {
    const kind = cfg.need_kinds[def.name];
    if (!kind || props.id === undefined || props.count !== undefined) return "";
    if (!cfg.planner) return "<p class='gp-hint'>" + esc(S.login_for_wo) + "</p>";
    return "<form class='gp-wo-form' data-kind='" + esc(kind) + "' data-target='" + esc(props.id) + "'>" +
      "<label>" + esc(S.officer) + " <select name='assigned_to'><option value=''>" + esc(S.unassigned) + "</option></select></label>" +
      "<button type='submit' class='gp-create-wo'>" + esc(S.create_wo) + "</button><p class='gp-wo-result' role='status'></p></form>";
  }
  function popupHtml(def, props, full) {
    let title = def ? def.label : "";
    if (def && def.api === "pju" && props.code) title = props.code;
    else if (def && def.api === "roads") title = props.name || S.unnamed_road;
    else if (def && def.api === "areas" && props.name) title = props.name;
    else if (def && def.api === "work-orders" && props.title) title = props.title;
    let html = "<div class='gp-popup' data-layer='" + esc(def ? def.name : "") + "'><h4>" + esc(title) + "</h4>" + propsTable(def, props);
    if (full) html += photosHtml(full.photos);
    if (full && full.closing_photo) html += photosHtml([{ url: full.closing_photo.url, caption: cfg.fields.closing_photo }]);
    if (def && def.api === "roads" && props.id !== undefined) {
      html += "<button type='button' class='gp-select-road' data-id='" + esc(props.id) + "'>" + esc(S.select_road) + "</button>";
    }
    if (def) html += woFormHtml(def, props);
    for (const fn of GP.popupExtras) { try { html += fn(def, props, full) || ""; } catch (e) { console.warn(e); } }
    return html + "</div>";
  }
  let officersLoaded = null;
  function officers() {
    if (!officersLoaded) {
      officersLoaded = fetch(cfg.urls.officers, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { officers: [] })).then((d) => d.officers || [])
        .catch(() => { officersLoaded = null; return []; });
    }
    return officersLoaded;
  }
  function fillOfficers(popupEl, keep) {
    const sel = popupEl && popupEl.querySelector(".gp-wo-form select[name=assigned_to]");
    if (!sel) return;
    officers().then((list) => {
      for (const o of list) sel.appendChild(el("option", { value: o.username }, esc(o.name + (o.name !== o.username ? " (" + o.username + ")" : ""))));
      if (keep) sel.value = keep;
    });
  }
  function setPopup(popup, html) {
    // The popup is drawn again when the feature's details arrive: keep the officer already chosen,
    // and never replace a work order form that is being sent or was sent (its answer would be lost).
    const sending = popup.getElement() && popup.getElement().querySelector(".gp-wo-form[data-sending], .gp-wo-form[data-created]");
    if (sending) return;
    const before = popup.getElement() && popup.getElement().querySelector(".gp-wo-form select[name=assigned_to]");
    const keep = before ? before.value : "";
    popup.setContent(html);
    const node = popup.getElement();
    if (node) fillOfficers(node, keep);
  }
  function showFeature(api, id, latlng, props, def) {
    props = Object.assign({}, props);
    if (api === "work-orders") props._wo = true;
    const popup = L.popup({ maxWidth: 340 }).setLatLng(latlng).setContent(popupHtml(def, props)).openOn(map);
    fillOfficers(popup.getElement());
    if (props.road_id !== undefined && props.road_id !== null) {
      roadName(props.road_id).then((name) => {
        props._road_name = name;
        if (popup.isOpen()) setPopup(popup, popupHtml(def, props));
      });
    }
    if (!api || id === undefined || id === null) return;
    if (api === "work-orders" && !cfg.user) return;  // work orders are for logged-in users only
    fetch(featureUrl(api, id), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((f) => {
        if (!f || !popup.isOpen()) return;
        const merged = Object.assign({ id, _wo: props._wo, _road_name: props._road_name }, f.properties || {});
        setPopup(popup, popupHtml(def, merged, f.properties));
      }).catch(() => {});
  }

  /* "Buat perintah kerja": POST /api/work-orders/ from a need's popup. */
  map.getContainer().addEventListener("submit", (ev) => {
    const form = ev.target.closest && ev.target.closest(".gp-wo-form");
    if (!form) return;
    ev.preventDefault();
    const out = form.querySelector(".gp-wo-result");
    const body = { kind: form.dataset.kind, target: parseInt(form.dataset.target, 10) };
    if (form.assigned_to.value) body.assigned_to = form.assigned_to.value;
    form.querySelector("button").disabled = true;
    form.dataset.sending = "1";
    fetch(cfg.urls.work_orders, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf(cfg.csrf_token) },
      body: JSON.stringify(body),
    }).then((r) => r.json().then((d) => ({ ok: r.ok, data: d }))).then((res) => {
      delete form.dataset.sending;
      if (!res.ok) { out.textContent = S.error + ": " + (res.data.detail || ""); out.className = "gp-wo-result gp-error"; form.querySelector("button").disabled = false; return; }
      out.textContent = S.wo_created + " #" + res.data.id + " · " + label("wo_status", res.data.properties.status);
      out.className = "gp-wo-result gp-ok";
      form.dataset.created = res.data.id;
      GP.refreshLayer("work_orders");
    }).catch((err) => { delete form.dataset.sending; out.textContent = S.error + ": " + err; form.querySelector("button").disabled = false; });
  });
  return { showFeature, popupHtml, featureUrl };
}
