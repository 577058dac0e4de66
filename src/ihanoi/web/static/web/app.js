// The installable app on every page: registers the service worker, says when the phone is
// offline, sends the reports kept on the phone when the network returns (web/drafts.js),
// and turns Web Push on or off for this browser.
(function () {
  "use strict";
  var body = document.body;
  var user = body.dataset.user || "";
  var stringsElement = document.getElementById("ihanoi-strings");
  var t = stringsElement ? JSON.parse(stringsElement.textContent) : {};
  var status = document.getElementById("net-status");
  var banner = document.getElementById("drafts-banner");
  var drafts = window.IhanoiDrafts;

  function say(text) {
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  }

  function showNetwork() {
    say(navigator.onLine ? "" : t.offline);
  }

  function announceChange() {
    document.dispatchEvent(new CustomEvent("ihanoi:drafts-changed"));
  }

  function refreshBanner() {
    if (!drafts || !banner || !user) return Promise.resolve();
    return drafts.list(user).then(function (items) {
      banner.hidden = !items.length || !!document.getElementById("drafts");
      banner.firstElementChild.textContent = (t.draftsWaiting || "").replace("%(n)s", items.length);
    }).catch(function () {});
  }

  var syncing = null;
  function syncDrafts() {
    if (!drafts || !user || !navigator.onLine) return Promise.resolve([]);
    if (syncing) return syncing;
    syncing = drafts.sendAll(user).then(function (results) {
      var sent = results.filter(function (r) { return r.state === "sent"; }).length;
      if (results.some(function (r) { return r.state === "signin"; })) say(t.signinToSend);
      else if (sent) say(t.draftSent);
      if (results.length) announceChange();
      return results;
    }).catch(function () { return []; }).then(function (results) {
      syncing = null;
      return refreshBanner().then(function () { return results; });
    });
    return syncing;
  }
  window.ihanoiSyncDrafts = syncDrafts;

  window.addEventListener("online", function () { say(t.online); syncDrafts(); });
  window.addEventListener("offline", showNetwork);
  document.addEventListener("ihanoi:drafts-saved", function () {
    refreshBanner();
    if (drafts) drafts.requestSync();
  });
  showNetwork();
  refreshBanner().then(syncDrafts);
  // A network can come back without an "online" event (a captive portal, a flaky cell).
  setInterval(function () { if (navigator.onLine) syncDrafts(); }, 30000);

  var registration = null;
  if ("serviceWorker" in navigator && body.dataset.sw) {
    var firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker.register(body.dataset.sw, { scope: "/" }).then(function (reg) {
      registration = reg;
      if (firstVisit) {
        // This page came from the network before the worker ran: let it keep a copy.
        navigator.serviceWorker.ready.then(function (r) {
          if (r.active) r.active.postMessage({ type: "keep", url: location.pathname + location.search });
        });
      }
      var installed = window.matchMedia && window.matchMedia("(display-mode: standalone)").matches;
      if (installed) {
        navigator.serviceWorker.ready.then(function (r) { if (r.active) r.active.postMessage({ type: "warm" }); });
      }
      setUpPush();
    }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "drafts-changed") { announceChange(); refreshBanner(); }
    });
  }

  // --- Web Push: buttons marked data-push-toggle --------------------------------------------
  function csrfToken() {
    var m = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function postJson(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(data),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r; });
  }

  function setUpPush() {
    var buttons = document.querySelectorAll("[data-push-toggle]");
    if (!buttons.length || !body.dataset.vapid || !registration || !registration.pushManager || !window.Notification) return;
    var note = document.getElementById("push-status");
    function draw(subscribed) {
      buttons.forEach(function (b) {
        b.hidden = false;
        b.textContent = subscribed ? t.pushOff : t.pushOn;
        b.setAttribute("aria-pressed", subscribed ? "true" : "false");
      });
    }
    function tell(text) { if (note) note.textContent = text; }
    registration.pushManager.getSubscription().then(function (s) { draw(!!s); });
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        registration.pushManager.getSubscription().then(function (current) {
          if (current) {
            return postJson(body.dataset.pushUnsubscribe, { endpoint: current.endpoint })
              .catch(function () {}).then(function () { return current.unsubscribe(); })
              .then(function () { draw(false); tell(""); });
          }
          return Notification.requestPermission().then(function (permission) {
            if (permission !== "granted") { tell(t.pushDenied); return; }
            return registration.pushManager.subscribe({
              userVisibleOnly: true, applicationServerKey: keyBytes(body.dataset.vapid)
            }).then(function (subscription) {
              return postJson(body.dataset.pushSubscribe, subscription.toJSON());
            }).then(function () { draw(true); tell(""); });
          });
        }).catch(function () { tell(t.pushFailed); });
      });
    });
  }
})();
