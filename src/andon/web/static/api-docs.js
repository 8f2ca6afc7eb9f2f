// The API page: Swagger UI over Andon's own OpenAPI document, from files Andon serves itself.
// No validator badge (it would call validator.swagger.io), nothing from another origin.
// "Try it out" runs with the session cookie; writes carry the page's CSRF token.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="andon-csrf"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function start() {
    window.ui = window.SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null,
      defaultModelsExpandDepth: 0,
      requestInterceptor: function (request) {
        var method = (request.method || "GET").toUpperCase();
        if (method !== "GET" && method !== "HEAD" && !request.headers.Authorization) {
          request.headers["X-CSRF-Token"] = csrf();
        }
        return request;
      },
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
