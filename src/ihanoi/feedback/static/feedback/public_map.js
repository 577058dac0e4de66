// Public reports as points; each opens the report's public page.
(function () {
  "use strict";
  var element = document.getElementById("reports-map");
  if (!element || !window.ihanoiMap) return;
  var map = window.ihanoiMap(element);
  fetch(element.dataset.reports).then(function (r) { return r.json(); }).then(function (data) {
    data.reports.forEach(function (report) {
      var marker = L.circleMarker([report.lat, report.lon], { radius: 6, color: "#c8102e" });
      var link = document.createElement("a");
      link.href = report.url;
      link.textContent = report.title;
      var box = document.createElement("div");
      box.appendChild(link);
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(report.category + " · " + report.status));
      marker.bindPopup(box).addTo(map);
    });
  }).catch(function () {});
})();
