// Offline queue of the /lapor/ page: reports (fields + photo File) kept in
// IndexedDB until the server answers, so nothing typed offline is lost.
const DB = "lapor", STORE = "queue";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(result.result ?? result); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

export const queueAdd = (item) => tx("readwrite", (s) => s.add(item));
export const queueAll = () => tx("readonly", (s) => s.getAll());
export const queueDelete = (id) => tx("readwrite", (s) => s.delete(id));
