// The dashboard's charts: fetched from the JSON API and drawn with Chart.js. The page already
// shows every figure in a table; once a chart is drawn its table folds away (still one click,
// and still the chart's description for screen readers). Without JavaScript, or if anything
// here fails, the tables stay as they are.
(function () {
  "use strict";

  var charts = [];

  function reducedMotion() {
    return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  // Pico's own colours, so the charts follow the light or dark theme the page is in.
  function palette() {
    var style = getComputedStyle(document.body);
    function read(name, fallback) {
      return style.getPropertyValue(name).trim() || fallback;
    }
    return {
      text: read("--pico-color", "#373c44"),
      muted: read("--pico-muted-color", "#646b79"),
      grid: read("--pico-muted-border-color", "#e7eaf0"),
      accent: read("--pico-primary", "#0172ad"),
      fill: read("--pico-primary-focus", "rgba(2, 154, 232, 0.5)"),
    };
  }

  function options(colours) {
    var axis = {
      ticks: { color: colours.muted },
      grid: { color: colours.grid },
      border: { color: colours.grid },
    };
    var settings = {
      responsive: true,
      plugins: { legend: { display: false } },
      scales: {
        x: axis,
        // Counts: whole numbers only on the axis, from zero.
        y: Object.assign({ beginAtZero: true }, axis, {
          ticks: { color: colours.muted, precision: 0 },
        }),
      },
    };
    if (reducedMotion()) settings.animation = false;
    return settings;
  }

  function paint(set, kind, colours) {
    set.backgroundColor = kind === "line" ? colours.fill : colours.accent;
    set.borderColor = colours.accent;
    return set;
  }

  function draw(data) {
    var colours = palette();
    Chart.defaults.color = colours.text;
    document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
      var points = data[canvas.dataset.series];
      if (!Array.isArray(points)) return;
      canvas.hidden = false;
      charts.push(new Chart(canvas, {
        type: canvas.dataset.kind,
        data: {
          labels: points.map(function (point) { return point.label; }),
          datasets: [paint({
            label: canvas.dataset.title,
            data: points.map(function (point) { return point.count; }),
            fill: canvas.dataset.kind === "line",
            tension: 0.2,
          }, canvas.dataset.kind, colours)],
        },
        options: options(colours),
      }));
      var figures = canvas.parentElement.querySelector("details");
      if (figures) figures.open = false;
    });
  }

  function recolour() {
    var colours = palette();
    Chart.defaults.color = colours.text;
    charts.forEach(function (chart) {
      chart.options = options(colours);
      paint(chart.data.datasets[0], chart.config.type, colours);
      chart.update("none");
    });
  }

  function watchTheme() {
    // The theme toggle sets data-theme on <html>; without a choice Pico follows the system.
    new MutationObserver(recolour).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", recolour);
  }

  function start() {
    var root = document.getElementById("dashboard");
    if (!root || typeof Chart === "undefined") return;
    fetch(root.dataset.source, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("dashboard: HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        draw(data);
        watchTheme();
      })
      .catch(function (error) {
        // The tables already say it all; note the failure for whoever is debugging.
        console.warn(error);
      });
  }

  // Deferred scripts run in order before DOMContentLoaded, so Chart.js is loaded by now.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
