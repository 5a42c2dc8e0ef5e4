// Similar ideas while writing: once the title and the summary say something, and the
// typing pauses, ask the server which ideas of the challenge read alike and show them
// in #similar-ideas (aria-live="polite"). Without this file, the form's
// "Check for similar ideas" button does the same on the server.
(() => {
  "use strict";
  const DELAY_MS = 500;

  const start = () => {
    const form = document.querySelector("form[data-similar-url]");
    const target = document.getElementById("similar-ideas");
    if (!form || !target || !window.fetch) return;
    const title = form.elements.namedItem("title");
    const summary = form.elements.namedItem("summary");
    if (!title || !summary) return;

    // The server shows similar ideas before a first publish unless the writer has seen
    // them: when this panel shows some, the form says so.
    const seen = (shown) => {
      let flag = form.querySelector("input[name='seen_similar']");
      if (shown && !flag) {
        flag = document.createElement("input");
        flag.type = "hidden";
        flag.name = "seen_similar";
        flag.value = "1";
        form.appendChild(flag);
      } else if (!shown && flag) {
        flag.remove();
      }
    };

    let timer = null;
    let controller = null;
    let lastAsked = "";

    const ask = async () => {
      const t = title.value.trim();
      const s = summary.value.trim();
      if (!t || !s) return;
      const key = `${t}\n${s}`;
      if (key === lastAsked) return;
      lastAsked = key;
      if (controller) controller.abort();
      controller = new AbortController();
      const url = new URL(form.dataset.similarUrl, window.location.href);
      url.searchParams.set("title", t.slice(0, 160));
      url.searchParams.set("summary", s.slice(0, 1000));
      try {
        const response = await fetch(url, {
          headers: { Accept: "text/html" },
          credentials: "same-origin",
          signal: controller.signal,
        });
        if (!response.ok) {
          lastAsked = "";
          return;
        }
        const html = await response.text();
        // The fragment is rendered (and escaped) by the server's templates, from this site only.
        if (target.innerHTML.trim() !== html.trim()) target.innerHTML = html;
        seen(target.querySelector(".similar-ideas li") !== null);
      } catch (error) {
        if (error.name !== "AbortError") lastAsked = "";
      }
    };

    const schedule = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    };
    title.addEventListener("input", schedule);
    summary.addEventListener("input", schedule);
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
