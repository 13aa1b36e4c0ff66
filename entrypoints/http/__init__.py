"""The HTTP entry point: the JSON API (``/v1``), the browser pages and the server.
See docs/http.md for how the pieces fit and how to add pages."""
