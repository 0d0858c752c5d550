/* What-if chart: the simulated variable price per hour and the daily average (window.evnetWhatIfChart). */
(function () {
  "use strict";
  var series = JSON.parse(document.getElementById("whatif-series").textContent);
  window.evnetWhatIfChart = new Chart(document.getElementById("whatif-chart"), {
    type: "line",
    data: {
      labels: series.labels,
      datasets: [
        { label: "variable price / kWh", data: series.variable_price_per_kwh, stepped: true, borderColor: "#c0392b" },
        { label: "daily average", data: series.labels.map(function () { return series.average; }),
          borderDash: [6, 4], borderColor: "#7f8c8d", pointRadius: 0 }
      ]
    },
    options: { animation: false, responsive: true }
  });
}());
