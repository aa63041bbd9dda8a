/* The field app's outbox on the device (IndexedDB), built from the tested
 * module js/offline-queue.js with the page's URLs (field-config). Exposed as
 * window.GPQueue for field.js and the browser tests. */
import { createQueue, fetchRequest, idbStore } from "./js/offline-queue.js";
import { readConfig } from "./js/config.js";
import { csrf } from "./js/format.js";

const cfg = readConfig("field-config");
window.GPQueue = createQueue({
  store: idbStore(window.indexedDB),
  request: fetchRequest((url, init) => fetch(url, init), () => csrf("")),
  urls: cfg.urls,
  locks: navigator.locks,
});
