"""The review server: FastAPI app (:func:`hunkwise.server.app.create_app`), settings, routes."""
