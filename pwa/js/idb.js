// A thin promise layer over IndexedDB. Writes use durability "strict" (Chrome 83+; older
// browsers ignore the option and flush anyway): an entry the keeper saved survives a power cut.

export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function openDatabase(name, version, upgrade) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion, req.transaction);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab (or a new version of the app) wants to upgrade: let it.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("indexeddb_blocked"));
  });
}

export function transaction(db, stores, mode = "readonly") {
  return mode === "readwrite"
    ? db.transaction(stores, mode, { durability: "strict" })
    : db.transaction(stores, mode);
}

/** Resolves when the transaction has committed (not merely when its requests succeeded). */
export function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction_aborted"));
  });
}

/** Run `work(tx)` in one transaction and wait for its commit; returns what `work` returned. */
export async function run(db, stores, mode, work) {
  const tx = transaction(db, stores, mode);
  const done = committed(tx);
  let result;
  try {
    result = await work(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch (ignored) {
      // already finished
    }
    await done.catch(() => {});
    throw error;
  }
  await done;
  return result;
}
