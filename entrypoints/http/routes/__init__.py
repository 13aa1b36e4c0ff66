"""The JSON routes: health, API docs and ``/v1``."""
