// Starts Swagger UI on the app's own OpenAPI document (a file, not an inline script,
// so the Content-Security-Policy can forbid inline scripts).
const target = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: target.dataset.openapi, dom_id: "#swagger-ui", deepLinking: true });
