// The panel's map (/panel/map): fetch the filtered markers from /panel/map.json and draw them
// clustered over the configured tiles. Loaded as a file under the panel's CSP (script-src 'self'):
// no inline script, no eval, no HTML built from data (popups are DOM nodes with textContent).
"use strict";

(function () {
  var box = document.getElementById("map");
  var status = document.getElementById("map-status");
  if (!box || typeof L === "undefined") {
    return;
  }
  var DIGITS = "۰۱۲۳۴۵۶۷۸۹";

  function fa(n) {
    return String(n).replace(/[0-9]/g, function (d) { return DIGITS[Number(d)]; });
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  var map = L.map(box, { zoomControl: true, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  map.setView([Number(box.dataset.lat), Number(box.dataset.lon)], 11);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, {
      maxZoom: 19,
      attribution: "",
      crossOrigin: false,
    }).addTo(map);
    // Set as text: the configured attribution is shown, never interpreted as HTML.
    map.attributionControl.addAttribution(box.dataset.attribution.replace(/[<>&]/g, ""));
  }
  var approxIcon = new L.Icon.Default({ className: "approx" });
  var exactIcon = new L.Icon.Default();
  // The plugin's own icon, with the count in Persian digits (built from a number, never from data).
  function clusterIcon(group) {
    var count = group.getChildCount();
    var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    return L.divIcon({
      html: "<div><span>" + fa(count) + "</span></div>",
      className: "marker-cluster marker-cluster-" + size,
      iconSize: L.point(40, 40),
    });
  }
  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    iconCreateFunction: clusterIcon,
  });
  map.addLayer(cluster);

  var names = { categories: {}, statuses: {} };

  function popup(p) {
    var node = document.createElement("div");
    node.className = "map-popup";
    var link = document.createElement("a");
    link.href = "/panel/tickets/" + encodeURIComponent(p.code);
    link.className = "code";
    link.textContent = fa(p.code);
    node.appendChild(link);
    var lines = [names.categories[p.category] || p.category, names.statuses[p.status] || p.status];
    if (p.district) {
      lines.push("مکان تقریبی: مرکز منطقهٔ " + fa(p.district));
    }
    if (p.overdue) {
      lines.push("گذشته از مهلت");
    }
    lines.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      node.appendChild(line);
    });
    return node;
  }

  function marker(p) {
    var m = L.marker([p.lat, p.lon], {
      icon: p.district ? approxIcon : exactIcon,
      title: fa(p.code),
      alt: fa(p.code),
      keyboard: true,
    });
    m.bindPopup(popup(p));
    m.options.code = p.code;
    return m;
  }

  fetch(box.dataset.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      names = { categories: data.categories, statuses: data.statuses };
      var markers = data.points.map(marker);
      cluster.addLayers(markers);
      var approx = data.points.filter(function (p) { return p.district; }).length;
      var text = fa(data.points.length) + " درخواست روی نقشه";
      if (approx) {
        text += " (" + fa(approx) + " با مکان تقریبیِ منطقه)";
      }
      if (data.truncated) {
        text += "؛ فقط جدیدترین‌ها نشان داده شده‌اند، فیلتر را تنگ‌تر کنید";
      }
      say(text + ".");
      box.dataset.count = String(data.points.length);
      if (box.dataset.focus && !data.focus) {
        say(text + " درخواست " + fa(box.dataset.focus) + " مکانی ندارد یا در دسترس شما نیست.");
      }
      if (data.focus) {
        var found = markers.filter(function (m) { return m.options.code === data.focus.code; })[0];
        if (!found) {
          found = marker(data.focus);
          cluster.addLayer(found);
        }
        cluster.zoomToShowLayer(found, function () { found.openPopup(); });
      } else if (markers.length) {
        map.fitBounds(cluster.getBounds(), { maxZoom: 15, padding: [24, 24] });
      }
      box.dataset.ready = "1";
    })
    .catch(function () {
      say("بارگذاری نشانگرها ناموفق بود؛ صفحه را دوباره باز کنید.");
      box.dataset.ready = "error";
    });
})();
