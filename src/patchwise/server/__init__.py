"""The review server: FastAPI app (:func:`patchwise.server.app.create_app`), settings, routes."""
