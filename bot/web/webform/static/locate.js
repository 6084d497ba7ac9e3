// The web form's only script: on the citizen's press, the browser's location fills the hidden
// latitude and longitude fields. Without it (or without permission) the form works the same.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  if (!button || !("geolocation" in navigator)) {
    return;
  }
  var status = document.getElementById("locate-status");
  var latitude = document.getElementById("latitude");
  var longitude = document.getElementById("longitude");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.waiting;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        latitude.value = position.coords.latitude.toFixed(6);
        longitude.value = position.coords.longitude.toFixed(6);
        status.textContent = button.dataset.done;
      },
      function () {
        status.textContent = button.dataset.failed;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
