// Reports kept on the phone until the server has them (IndexedDB), shared by the pages and
// the service worker (importScripts). A draft is saved before the first attempt to send it
// and removed only when the server answers with the report it made, so a reload, a lost
// connection or a send cut off half-way never loses a report; the draft's client_key makes
// a second attempt return the first report instead of making another (server-side
// idempotency), so nothing arrives twice.
(function (global) {
  "use strict";
  var DB_NAME = "ihanoi";
  var STORE = "drafts";
  var SYNC_TAG = "ihanoi-drafts";
  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = global.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  // A photo picked from the phone is a reference to a file that the gallery may change or
  // delete before the draft is sent: keep a copy of its bytes instead.
  function detach(draft) {
    return Promise.all(draft.photos.map(function (p) {
      if (typeof File === "undefined" || !(p.blob instanceof File)) return p;
      return p.blob.arrayBuffer().then(function (bytes) {
        return { blob: new Blob([bytes], { type: p.blob.type }), name: p.name };
      });
    })).then(function (photos) { draft.photos = photos; return draft; });
  }

  function save(draft) {
    return detach(draft).then(function () {
      return tx("readwrite", function (s) { s.put(draft); });
    }).then(function () { return draft; });
  }
  function get(key) { return tx("readonly", function (s) { return s.get(key); }); }
  function remove(key) { return tx("readwrite", function (s) { s.delete(key); }); }
  function list(user) {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).filter(function (d) { return !user || String(d.user) === String(user); })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  // A draft from the report form: every field as the form would post it, photos as Blobs.
  function fromForm(form, photos, user) {
    var fields = [];
    var key = "";
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string") return;  // files come from `photos`
      if (name === "client_key") key = value;
      fields.push([name, value]);
    });
    return {
      key: key,
      user: String(user || ""),
      url: form.action || global.location.href,
      fields: fields,
      photos: (photos || []).map(function (f) { return { blob: f, name: f.name || "photo.jpg" }; }),
      title: (form.elements.title && form.elements.title.value) || "",
      created: Date.now(),
      state: "waiting",
      errors: null
    };
  }

  function formData(draft, token) {
    var data = new FormData();
    draft.fields.forEach(function (pair) {
      if (pair[0] === "csrfmiddlewaretoken" && token) return;
      data.append(pair[0], pair[1]);
    });
    if (token) data.append("csrfmiddlewaretoken", token);
    // Whose draft it is: the server refuses it under another account (a shared phone).
    data.set("draft_owner", draft.user);
    draft.photos.forEach(function (p) { data.append("photos", p.blob, p.name); });
    return data;
  }

  // The form page carries a fresh CSRF token; needed when the session changed since the
  // draft was saved (signing in again rotates it).
  function freshToken(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var m = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
        return m ? m[1] : "";
      });
  }

  function post(draft, token, progress) {
    var body = formData(draft, token);
    if (progress && global.XMLHttpRequest) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        xhr.open("POST", draft.url);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress(e.loaded / e.total); };
        xhr.onload = function () {
          resolve({ status: xhr.status, url: xhr.responseURL, type: xhr.getResponseHeader("Content-Type") || "", text: xhr.responseText });
        };
        xhr.onerror = xhr.onabort = xhr.ontimeout = function () { reject(new Error("network")); };
        xhr.send(body);
      });
    }
    return fetch(draft.url, {
      method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (r) {
      return r.text().then(function (text) {
        return { status: r.status, url: r.url, type: r.headers.get("Content-Type") || "", text: text };
      });
    });
  }

  function parse(response) {
    if (response.type.indexOf("application/json") === -1) return null;
    try { return JSON.parse(response.text); } catch (e) { return null; }
  }

  // One attempt. Resolves to {state: "sent", url} | "invalid" (errors) | "signin" |
  // "other-user" | "later" (network or server trouble: try again).
  function attempt(draft, progress, token) {
    return post(draft, token, progress).then(function (response) {
      var data = parse(response);
      if (response.status >= 200 && response.status < 400 && data && data.url) {
        var sent = { state: "sent", url: data.url, created: data.created };
        return remove(draft.key).then(function () { return sent; }, function () { return sent; });
      }
      if (response.status === 400 && data && data.errors) {
        draft.state = "invalid";
        draft.errors = data.errors;
        return save(draft).then(function () { return { state: "invalid", errors: data.errors }; });
      }
      if (response.status === 409) return { state: "other-user" };
      if (response.status === 403 && !token) {
        return freshToken(draft.url).then(function (t) {
          return t ? attempt(draft, progress, t) : { state: "later" };
        });
      }
      if (/\/accounts\/login\//.test(response.url || "")) return { state: "signin" };
      return { state: "later" };
    }, function () { return { state: "later" }; });
  }

  // Sends one draft unless another tab or the service worker is sending it right now.
  function send(draft, progress) {
    var run = function () {
      return get(draft.key).then(function (current) {
        if (!current) return { state: "sent", url: null };  // someone else finished it
        return attempt(current, progress, "");
      });
    };
    if (global.navigator && global.navigator.locks) {
      return global.navigator.locks.request("ihanoi-draft-" + draft.key, run);
    }
    return run();
  }

  // Every waiting draft of `user` (all of them in the service worker), one after another.
  function sendAll(user) {
    return list(user).then(function (drafts) {
      var results = [];
      var waiting = drafts.filter(function (d) { return d.state !== "invalid"; });
      return waiting.reduce(function (chain, draft) {
        return chain.then(function () {
          return send(draft).then(function (r) { r.key = draft.key; r.title = draft.title; results.push(r); });
        });
      }, Promise.resolve()).then(function () { return results; });
    });
  }

  // Background Sync: the browser sends the drafts even if the page is closed (where supported).
  function requestSync() {
    var sw = global.navigator && global.navigator.serviceWorker;
    if (!sw || !sw.ready) return Promise.resolve(false);
    return sw.ready.then(function (registration) {
      return registration.sync ? registration.sync.register(SYNC_TAG).then(function () { return true; }) : false;
    }).catch(function () { return false; });
  }

  global.IhanoiDrafts = {
    SYNC_TAG: SYNC_TAG, save: save, get: get, remove: remove, list: list, fromForm: fromForm,
    send: send, sendAll: sendAll, requestSync: requestSync,
    sendUnsaved: function (draft, progress) { return attempt(draft, progress, ""); }
  };
})(self);
