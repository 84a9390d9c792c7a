// Site-wide behaviour: the CSRF header on htmx's requests, and the Alpine components the
// templates name (the CSP build of Alpine runs registered components, never inline code).
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("meta[name=csrf-token]");
  if (token) event.detail.headers["x-site-csrf"] = token.content;
});

document.addEventListener("alpine:init", function () {
  function isDark() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen) return chosen === "dark";
    return window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  Alpine.data("themeToggle", function () {
    return {
      dark: isDark(),
      get pressed() { return this.dark ? "true" : "false"; },
      get icon() { return this.dark ? "☀" : "☾"; },
      toggle: function () {
        this.dark = !this.dark;
        var theme = this.dark ? "dark" : "light";
        document.documentElement.dataset.theme = theme;
        localStorage.setItem("theme", theme);
      },
    };
  });

  // A form whose submit asks first: <form x-data="confirmSubmit" data-confirm="Delete it?">.
  Alpine.data("confirmSubmit", function () {
    return {
      ask: function (event) {
        if (!window.confirm(this.$el.dataset.confirm || "Are you sure?")) event.preventDefault();
      },
    };
  });

  // A file input that previews the chosen image before upload.
  Alpine.data("imagePreview", function () {
    return {
      url: "",
      get hasImage() { return this.url !== ""; },
      choose: function (event) {
        var file = event.target.files[0];
        if (this.url) URL.revokeObjectURL(this.url);
        this.url = file && file.type.indexOf("image/") === 0 ? URL.createObjectURL(file) : "";
      },
    };
  });
});
