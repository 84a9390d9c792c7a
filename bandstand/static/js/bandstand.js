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

  // A job's page, live: <article x-data="jobProgress" data-events="/jobs/<id>/events">, with
  // x-ref'd status, bar, message and error. Once the job ends, the page reloads to show its
  // result and what can be done next.
  Alpine.data("jobProgress", function () {
    return {
      source: null,
      init: function () {
        if ("finished" in this.$el.dataset || !window.EventSource) return;
        var refs = this.$refs;
        var source = (this.source = new EventSource(this.$el.dataset.events));
        source.addEventListener("state", function (event) {
          var state = JSON.parse(event.data);
          var progress = state.progress;
          refs.status.textContent = state.status;
          refs.status.className = "job-status " + state.status;
          if (progress) {
            if (progress.total) {
              refs.bar.max = progress.total;
              refs.bar.value = progress.done;
            }
            refs.message.textContent =
              progress.done + (progress.total ? " of " + progress.total : "") +
              (progress.message ? ": " + progress.message : "");
          }
          refs.error.textContent = state.error || "";
          if (state.finished) {
            source.close();
            window.location.reload();
          }
        });
      },
      destroy: function () {
        if (this.source) this.source.close();
      },
    };
  });
});
