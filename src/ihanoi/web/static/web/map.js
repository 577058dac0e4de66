// Maps without an internet connection: Leaflet (shipped with the site) draws the wards'
// own boundaries as the base layer, plus tiles when the city configures a tile server.
// window.ihanoiMap(element) returns the Leaflet map; the element's data attributes say
// where the ward shapes are and which tile server to use.
(function () {
  "use strict";
  var HANOI = [21.0285, 105.8542];

  window.ihanoiMap = function (element) {
    var map = L.map(element, { zoomControl: true }).setView(HANOI, 13);
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, {
        maxZoom: 19,
        attribution: element.dataset.attribution || ""
      }).addTo(map);
    }
    if (element.dataset.wards) {
      fetch(element.dataset.wards).then(function (r) { return r.json(); }).then(function (data) {
        L.geoJSON(data, {
          style: { color: "#c8102e", weight: 1, fillOpacity: 0.04 },
          onEachFeature: function (feature, layer) {
            layer.bindTooltip(feature.properties.name, { sticky: true });
          }
        }).addTo(map).bringToBack();
      }).catch(function () {});
    }
    return map;
  };
})();
