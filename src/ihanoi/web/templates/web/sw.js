// iHaNoi's service worker (drawn by web.views.service_worker; see web/pwa.py).
// Pages: network first, the last copy when offline, else the offline page. Static files:
// cache first (their names change with their content in production, the cache's name with
// VERSION everywhere). Drafts of reports: sent by Background Sync (web/drafts.js).
"use strict";
var VERSION = "{{ version }}";
var SHELL = "ihanoi-shell-" + VERSION;
var ASSETS = "ihanoi-assets-" + VERSION;
var PAGES = "ihanoi-pages";
var PRECACHE = [{% for url in precache %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var WARM = [{% for url in warm %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var OFFLINE_URL = "{{ offline_url|escapejs }}";
var STATIC_PREFIX = "{{ static_prefix|escapejs }}";
var LOGOUT_PATH = "{{ logout_path|escapejs }}";
var NEVER_CACHED = [{% for p in never_cached %}"{{ p|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var SHAPES_PATH = "{{ shapes_path|escapejs }}";
var ICON = "{{ icon|escapejs }}";
var BADGE = "{{ badge|escapejs }}";

importScripts("{{ drafts_js|escapejs }}");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(PRECACHE);
  }).then(function () {
    return keepPage("/");
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  var keep = [SHELL, ASSETS, PAGES];
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("ihanoi-") === 0 && keep.indexOf(n) === -1;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function neverCached(path) {
  return NEVER_CACHED.some(function (prefix) { return path.indexOf(prefix) === 0; });
}

function keepable(response) {
  var control = response.headers.get("Cache-Control") || "";
  var type = response.headers.get("Content-Type") || "";
  return response.status === 200 && !response.redirected && control.indexOf("no-store") === -1 &&
    type.indexOf("text/html") === 0;
}

// A copy of a page as the person sees it now (the home page at install, the page that
// installed the worker): it was drawn before the worker could keep it.
function keepPage(path) {
  var url = new URL(path, self.location.origin);
  if (url.origin !== self.location.origin || neverCached(url.pathname)) return Promise.resolve();
  return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
    if (!keepable(response)) return null;
    return caches.open(PAGES).then(function (cache) { return cache.put(url.href, response); });
  }).catch(function () { return null; });
}

function page(request) {
  return fetch(request).then(function (response) {
    if (keepable(response)) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(request.url, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request.url, { ignoreVary: true });
    }).then(function (hit) {
      return hit || caches.match(OFFLINE_URL, { ignoreVary: true });
    });
  });
}

function asset(request) {
  return caches.match(request, { ignoreVary: true, ignoreSearch: false }).then(function (hit) {
    if (hit) return hit;
    return fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(ASSETS).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

// The wards' shapes under the report form's map: the network's copy, or the last one.
function latestOrKept(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(ASSETS).then(function (cache) { cache.put(request.url, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request.url, { ignoreVary: true }).then(function (hit) {
      return hit || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Signing out: forget the pages kept for this person.
    if (request.method === "POST" && url.pathname === LOGOUT_PATH) {
      event.waitUntil(caches.delete(PAGES));
    }
    return;
  }
  if (request.mode === "navigate") {
    if (neverCached(url.pathname)) {
      event.respondWith(fetch(request).catch(function () {
        return caches.match(OFFLINE_URL, { ignoreVary: true });
      }));
    } else {
      event.respondWith(page(request));
    }
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(asset(request));
  } else if (url.pathname === SHAPES_PATH) {
    event.respondWith(latestOrKept(request));
  }
});

// An installed app keeps the report form ready for the first report made offline.
function warm() {
  return caches.open(ASSETS).then(function (assets) {
    return Promise.all(WARM.map(function (u) {
      return fetch(u, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) return null;
        if (u.indexOf(STATIC_PREFIX) === 0) return assets.put(u, response);
        return keepable(response) ? caches.open(PAGES).then(function (c) { return c.put(u, response); }) : null;
      }).catch(function () { return null; });
    }));
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "warm") event.waitUntil(warm());
  if (data.type === "keep" && typeof data.url === "string") event.waitUntil(keepPage(data.url));
  if (data.type === "sync") event.waitUntil(self.IhanoiDrafts.sendAll());
});

self.addEventListener("sync", function (event) {
  if (event.tag !== self.IhanoiDrafts.SYNC_TAG) return;
  event.waitUntil(self.IhanoiDrafts.sendAll().then(function (results) {
    // Tell open pages what changed; a draft still waiting makes the browser try again later.
    self.clients.matchAll({ type: "window" }).then(function (windows) {
      windows.forEach(function (w) { w.postMessage({ type: "drafts-changed" }); });
    });
    if (results.some(function (r) { return r.state === "later"; })) throw new Error("drafts still waiting");
  }));
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  var url = data.url || "/";
  event.waitUntil(self.registration.showNotification(data.title || "iHaNoi", {
    body: data.body || "",
    icon: ICON,
    badge: BADGE,
    tag: url,
    renotify: true,
    data: { url: url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) target = new URL("/", self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target.href && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(target.href);
  }));
});
