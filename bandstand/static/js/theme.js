// The visitor's chosen theme, applied before the page paints; without a choice, Pico follows
// the system's light/dark setting.
(function () {
  var theme = localStorage.getItem("theme");
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
})();
