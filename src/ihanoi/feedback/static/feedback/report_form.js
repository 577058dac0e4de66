// Progressive enhancement of the report form. Without JavaScript every question shows, the
// coordinates are typed and the form posts as usual. With it: a category search that
// ignores Vietnamese marks, only the chosen category's questions, a draggable map pin and
// "use my location", the ward and nearby open reports, camera capture with previews, upload
// progress, errors next to their fields, and a report kept on the phone when the network is
// gone (web/drafts.js), sent later exactly once.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var stringsElement = document.getElementById("report-form-strings");
  var t = stringsElement ? JSON.parse(stringsElement.textContent) : {};
  var user = document.body.dataset.user || "";
  var drafts = window.IhanoiDrafts;
  var lat = form.elements.lat;
  var lon = form.elements.lon;
  var preview = document.getElementById("ward-preview");
  var nearby = document.getElementById("nearby");
  var locateButton = document.getElementById("use-location");
  var statusLine = document.getElementById("form-status");
  var progress = document.getElementById("upload-progress");
  var errorBox = document.getElementById("form-errors");
  var submitButton = form.querySelector("button[type=submit]");

  function fmt(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }
  function category() {
    var checked = form.querySelector("input[name=category]:checked");
    return checked ? checked.value : "";
  }

  // --- Category: search without marks ("moi truong" finds "Môi trường") -------------------
  function plain(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();
  }
  var search = document.getElementById("category-search");
  var none = document.getElementById("category-none");
  if (search) {
    search.parentElement.hidden = false;
    var options = Array.prototype.slice.call(form.querySelectorAll(".cat-option"));
    options.forEach(function (o) { o.dataset.plain = plain(o.dataset.search || o.textContent); });
    search.addEventListener("input", function () {
      var words = plain(search.value).split(" ").filter(Boolean);
      var shown = 0;
      options.forEach(function (o) {
        var hit = words.every(function (w) { return o.dataset.plain.indexOf(w) !== -1; });
        o.hidden = !hit && !o.querySelector("input").checked;
        if (!o.hidden) shown++;
      });
      form.querySelectorAll(".cat-group").forEach(function (g) {
        g.hidden = !g.querySelector(".cat-option:not([hidden])");
      });
      none.hidden = shown > 0;
      none.textContent = shown ? "" : t.noCategory;
    });
  }

  function showQuestions() {
    var chosen = category();
    form.querySelectorAll("fieldset.questions").forEach(function (fs) {
      fs.hidden = fs.dataset.category !== chosen;
      fs.querySelectorAll("[data-for]").forEach(function (input) { input.disabled = fs.hidden; });
    });
  }

  // --- Where: map pin, device location, ward and nearby reports ---------------------------
  function refresh() {
    if (!lat.value || !lon.value || !navigator.onLine) return;
    var q = "lat=" + encodeURIComponent(lat.value) + "&lon=" + encodeURIComponent(lon.value);
    fetch(form.dataset.locateUrl + "?" + q).then(function (r) { return r.json(); }).then(function (data) {
      preview.textContent = data.ward ? data.ward.name : (data.error || "");
    }).catch(function () {});
    if (category()) {
      fetch(form.dataset.nearbyUrl + "?" + q + "&category=" + encodeURIComponent(category()))
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { nearby.innerHTML = html; })
        .catch(function () {});
    }
  }

  var pin = null;
  var map = null;
  var mapElement = document.getElementById("pin-map");
  function setPoint(latlng) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = latlng.lng.toFixed(6);
    clearError("lat");
    refresh();
  }
  function placePin(latlng, pan) {
    if (!map) return;
    if (pin) {
      pin.setLatLng(latlng);
    } else {
      pin = L.marker(latlng, { draggable: true, autoPan: true, keyboard: true }).addTo(map);
      pin.on("dragend", function () { setPoint(pin.getLatLng()); });
    }
    if (pan) map.setView(latlng, Math.max(map.getZoom(), 16));
  }
  if (mapElement && window.L && window.ihanoiMap) {
    mapElement.hidden = false;
    document.getElementById("pin-hint").hidden = false;
    map = window.ihanoiMap(mapElement);
    map.on("click", function (e) { placePin(e.latlng, false); setPoint(e.latlng); });
    if (lat.value && lon.value) placePin([+lat.value, +lon.value], true);
  }
  function numbersChanged() {
    if (lat.value && lon.value) placePin([+lat.value, +lon.value], true);
    refresh();
  }
  lat.addEventListener("change", numbersChanged);
  lon.addEventListener("change", numbersChanged);
  if (navigator.geolocation && locateButton) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", function () {
      preview.textContent = t.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        clearError("lat");
        numbersChanged();
      }, function (err) { preview.textContent = err.message; }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }
  form.querySelectorAll("input[name=category]").forEach(function (radio) {
    radio.addEventListener("change", function () { clearError("category"); showQuestions(); refresh(); });
  });

  // --- Photos: camera or gallery, previews, at most five ----------------------------------
  var photos = [];
  var fileInput = form.elements.photos;
  var camera = document.getElementById("camera-input");
  var previews = document.getElementById("photo-previews");
  var MAX_PHOTOS = 5;
  function drawPhotos() {
    previews.textContent = "";
    photos.forEach(function (file, i) {
      var item = document.createElement("li");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = fmt(t.photo, { n: i + 1 });
      img.onload = function () { URL.revokeObjectURL(img.src); };
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", fmt(t.removePhoto, { n: i + 1 }));
      remove.addEventListener("click", function () { photos.splice(i, 1); drawPhotos(); });
      item.appendChild(img);
      item.appendChild(remove);
      previews.appendChild(item);
    });
  }
  function addFiles(list) {
    Array.prototype.forEach.call(list, function (f) { if (photos.length < MAX_PHOTOS) photos.push(f); });
    clearError("photos");
    drawPhotos();
  }
  if (fileInput && window.FormData) {
    form.querySelector(".photo-buttons").hidden = false;
    fileInput.hidden = true;
    form.querySelector(".file-label").hidden = true;
    fileInput.addEventListener("change", function () { addFiles(fileInput.files); fileInput.value = ""; });
    camera.addEventListener("change", function () { addFiles(camera.files); camera.value = ""; });
    document.getElementById("take-photo").addEventListener("click", function () { camera.click(); });
    document.getElementById("choose-photos").addEventListener("click", function () { fileInput.click(); });
  }

  // --- Errors next to their fields, a summary that takes the focus ------------------------
  var FIELD_TARGETS = { category: "category-picker", location: "lat", lat: "lat", lon: "lon", photos: "take-photo" };
  function fieldElement(name) {
    var id = FIELD_TARGETS[name];
    if (id) return document.getElementById(id) || form.elements[id];
    var required = form.querySelector("fieldset.questions:not([hidden]) [data-required='" + name + "']");
    if (required) return required;
    return form.elements[name] && form.elements[name].nodeType ? form.elements[name] : null;
  }
  function clearError(name) {
    var old = document.getElementById("err-" + name);
    if (old) old.remove();
    var field = fieldElement(name);
    if (field && field.removeAttribute) field.removeAttribute("aria-invalid");
  }
  function showErrors(errors) {
    form.querySelectorAll("p.error").forEach(function (p) { p.remove(); });
    errorBox.textContent = "";
    var heading = document.createElement("p");
    heading.textContent = t.fixErrors;
    errorBox.appendChild(heading);
    var listElement = document.createElement("ul");
    Object.keys(errors).forEach(function (name) {
      errors[name].forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        listElement.appendChild(item);
        var field = fieldElement(name);
        if (!field) return;
        var p = document.createElement("p");
        p.className = "error";
        p.id = "err-" + name;
        p.textContent = message;
        if (field.tagName === "FIELDSET") field.appendChild(p); else field.insertAdjacentElement("afterend", p);
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", p.id);
      });
    });
    errorBox.appendChild(listElement);
    errorBox.hidden = false;
    errorBox.focus();
  }
  function check() {
    var errors = {};
    if (!category()) errors.category = [t.chooseCategory];
    if (!form.elements.title.value.trim()) errors.title = [t.giveTitle];
    if (!form.elements.description.value.trim()) errors.description = [t.describe];
    if (!lat.value || !lon.value) errors.location = [t.placePin];
    var chosen = form.querySelector("input[name=category]:checked");
    if (chosen && chosen.hasAttribute("data-photo-required") && !photos.length) errors.photos = [t.needPhoto];
    if (photos.length > MAX_PHOTOS) errors.photos = [t.tooManyPhotos];
    form.querySelectorAll("fieldset.questions:not([hidden]) [data-required]").forEach(function (el) {
      var answered = el.tagName === "DIV" ? !!el.querySelector("input:checked") : !!el.value.trim();
      if (!answered) errors[el.dataset.required] = [t.needAnswer];
    });
    return errors;
  }

  // --- Kept on this phone -----------------------------------------------------------------
  var draftsSection = document.getElementById("drafts");
  var draftsList = document.getElementById("drafts-list");
  var savedNote = document.getElementById("drafts-saved");
  function drawDrafts() {
    if (!drafts || !user) return;
    drafts.list(user).then(function (items) {
      draftsSection.hidden = !items.length;
      draftsList.textContent = "";
      items.forEach(function (d) {
        var item = document.createElement("li");
        item.className = "draft";
        item.dataset.key = d.key;
        var what = document.createElement("span");
        what.className = "what";
        var title = document.createElement("strong");
        title.textContent = d.title || t.untitled;
        var note = document.createElement("span");
        note.className = "hint";
        var when = new Date(d.created).toLocaleString(document.documentElement.lang);
        note.textContent = " · " + (d.state === "invalid" ? t.invalid : t.waiting) + " · " + fmt(t.savedAt, { time: when });
        what.appendChild(title);
        what.appendChild(note);
        if (d.errors) {
          var errs = document.createElement("span");
          errs.className = "error";
          errs.textContent = " " + Object.keys(d.errors).map(function (k) { return d.errors[k].join(" "); }).join(" ");
          what.appendChild(errs);
        }
        item.appendChild(what);
        if (d.state !== "invalid") {
          var sendButton = document.createElement("button");
          sendButton.type = "button";
          sendButton.className = "button";
          sendButton.textContent = t.sendNow;
          sendButton.addEventListener("click", function () {
            drafts.send(d).then(function (r) { afterBackgroundSend([r]); });
          });
          item.appendChild(sendButton);
        }
        var del = document.createElement("button");
        del.type = "button";
        del.className = "button";
        del.textContent = t["delete"];
        del.addEventListener("click", function () { drafts.remove(d.key).then(drawDrafts); });
        item.appendChild(del);
        draftsList.appendChild(item);
      });
    }).catch(function () {});
  }
  function afterBackgroundSend(results) {
    results.forEach(function (r) {
      if (r.state === "signin") statusLine.textContent = t.signinToSend;
      if (r.state === "other-user") statusLine.textContent = t.otherUser;
    });
    drawDrafts();
  }
  document.addEventListener("ihanoi:drafts-changed", drawDrafts);

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function keptOnPhone() {
    statusLine.textContent = t.savedOffline;
    // The next report is another report: a new key, an empty form.
    form.reset();
    form.elements.client_key.value = newKey();
    photos = [];
    drawPhotos();
    if (pin) { map.removeLayer(pin); pin = null; }
    preview.textContent = "";
    nearby.textContent = "";
    showQuestions();
    document.dispatchEvent(new CustomEvent("ihanoi:drafts-saved"));
    drawDrafts();
    draftsSection.hidden = false;
    draftsSection.scrollIntoView();
    savedNote.textContent = t.savedOffline;
    savedNote.focus();
  }
  function busy(on) {
    submitButton.disabled = on;
    progress.hidden = !on;
    if (!on) progress.value = 0;
  }

  form.addEventListener("submit", function (event) {
    if (!drafts || !window.indexedDB || !user) return;  // the plain form post
    event.preventDefault();
    var errors = check();
    if (Object.keys(errors).length) { showErrors(errors); return; }
    errorBox.hidden = true;
    var draft = drafts.fromForm(form, photos, user);
    var saved = true;
    function showProgress(fraction) {
      var percent = Math.round(fraction * 100);
      progress.value = percent;
      statusLine.textContent = fmt(t.sending, { percent: percent + "%" });
    }
    busy(true);
    drafts.save(draft).catch(function () {
      saved = false;  // IndexedDB refused (private mode, full disk): send without a copy
    }).then(function () {
      if (!saved) return drafts.sendUnsaved(draft, showProgress);
      if (!navigator.onLine) return { state: "later" };
      return drafts.send(draft, showProgress);
    }).then(function (result) {
      busy(false);
      if (result.state === "sent") {
        statusLine.textContent = "";
        window.location.assign(result.url || form.action);
      } else if (result.state === "invalid") {
        // The server's word: the form still holds everything, so the copy goes.
        drafts.remove(draft.key).then(drawDrafts);
        statusLine.textContent = "";
        showErrors(result.errors);
      } else if (result.state === "signin") {
        statusLine.textContent = t.signinToSend;
        drawDrafts();
      } else if (saved) {
        keptOnPhone();
      } else {
        statusLine.textContent = t.sendFailed;
      }
    });
  });

  // Keep what this form needs (the pin's pictures too) for the next time there is no network.
  if (navigator.serviceWorker && navigator.onLine) {
    navigator.serviceWorker.ready.then(function (r) { if (r.active) r.active.postMessage({ type: "warm" }); });
  }
  // A page kept by the service worker carries the key of a report already kept or sent:
  // every new report gets its own (a page the server drew with errors keeps the posted one).
  if (errorBox.hidden && !form.querySelector("p.error")) form.elements.client_key.value = newKey();
  showQuestions();
  refresh();
  drawDrafts();
})();
