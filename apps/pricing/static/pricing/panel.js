/* The price panel (ANEEL paper, Figure 4): prices by hour on top, the factors that moved them beneath.
   The chart objects stay reachable as window.evnetPriceChart / window.evnetFactorChart. */
(function () {
  "use strict";
  var series = JSON.parse(document.getElementById("panel-series").textContent);
  var common = { animation: false, responsive: true, interaction: { mode: "index", intersect: false } };
  window.evnetPriceChart = new Chart(document.getElementById("price-chart"), {
    type: "line",
    data: {
      labels: series.labels,
      datasets: [
        { label: "fixed price / session", data: series.fixed_price, stepped: true, borderColor: "#417690" },
        { label: "variable price / kWh", data: series.variable_price_per_kwh, stepped: true, borderColor: "#c0392b" },
        { label: "idle fee / min", data: series.idle_fee_per_minute, stepped: true, borderColor: "#8e44ad" }
      ]
    },
    options: common
  });
  window.evnetFactorChart = new Chart(document.getElementById("factor-chart"), {
    type: "bar",
    data: {
      labels: series.labels,
      datasets: [
        { type: "line", label: "load curve F_load (p.u.)", data: series.f_load, borderColor: "#d35400" },
        { label: "occupancy F_occ", data: series.f_occ, backgroundColor: "rgba(41,128,185,0.5)" },
        { label: "local PV F_PV_local", data: series.f_pv_local, backgroundColor: "rgba(241,196,15,0.7)" },
        { label: "global PV F_PV_global", data: series.f_pv_global, backgroundColor: "rgba(39,174,96,0.6)" }
      ]
    },
    options: common
  });
}());
