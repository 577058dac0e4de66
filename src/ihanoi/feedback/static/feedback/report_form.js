// Progressive enhancement of the report form: without JavaScript every question shows
// and the coordinates are typed by hand; with it, only the chosen category's questions
// show, "use my location" fills the point, and the ward and nearby reports are shown.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var category = form.querySelector("[name=category]");
  var lat = form.querySelector("[name=lat]");
  var lon = form.querySelector("[name=lon]");
  var preview = document.getElementById("ward-preview");
  var nearby = document.getElementById("nearby");
  var locateButton = document.getElementById("use-location");

  function showQuestions() {
    form.querySelectorAll("fieldset.questions").forEach(function (fs) {
      fs.hidden = fs.dataset.category !== category.value;
      fs.querySelectorAll("[data-for]").forEach(function (input) {
        input.disabled = fs.hidden;
      });
    });
  }

  function refresh() {
    if (!lat.value || !lon.value) return;
    var q = "lat=" + encodeURIComponent(lat.value) + "&lon=" + encodeURIComponent(lon.value);
    fetch(form.dataset.locateUrl + "?" + q).then(function (r) { return r.json(); }).then(function (data) {
      preview.textContent = data.ward ? data.ward.name : (data.error || preview.dataset.outside || "");
    }).catch(function () {});
    if (category.value) {
      fetch(form.dataset.nearbyUrl + "?" + q + "&category=" + encodeURIComponent(category.value))
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { nearby.innerHTML = html; })
        .catch(function () {});
    }
  }

  // The map: a pin the resident moves by tapping; it and the number fields stay in step.
  var pin = null;
  var map = null;
  var mapElement = document.getElementById("pin-map");
  function placePin(latlng, pan) {
    if (!map) return;
    if (pin) { pin.setLatLng(latlng); } else { pin = L.marker(latlng).addTo(map); }
    if (pan) map.setView(latlng, Math.max(map.getZoom(), 16));
  }
  if (mapElement && window.L && window.ihanoiMap) {
    mapElement.hidden = false;
    document.getElementById("pin-hint").hidden = false;
    map = window.ihanoiMap(mapElement);
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      placePin(e.latlng, false);
      refresh();
    });
    if (lat.value && lon.value) placePin([+lat.value, +lon.value], true);
  }
  function numbersChanged() {
    if (lat.value && lon.value) placePin([+lat.value, +lon.value], true);
    refresh();
  }

  category.addEventListener("change", function () { showQuestions(); refresh(); });
  lat.addEventListener("change", numbersChanged);
  lon.addEventListener("change", numbersChanged);
  if (navigator.geolocation && locateButton) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        numbersChanged();
      }, function (err) { preview.textContent = err.message; }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }
  showQuestions();
  refresh();
})();
