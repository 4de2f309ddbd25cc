"""Media endpoints."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from media.storage import find_upload
from media.thumbnails import make_thumbnail

bp = Blueprint("media", __name__)


@bp.get("/media/<int:upload_id>")
def show(upload_id: int) -> Response:
    upload = find_upload(upload_id)
    if upload is None:
        abort(404)
    return Response(upload.read(), mimetype=upload.content_type)


@bp.get("/media/<int:upload_id>/thumbnail")
def thumbnail(upload_id: int) -> Response:
    upload = find_upload(upload_id)
    if upload is None:
        abort(404)
    at = request.args.get("at", "00:00:01")
    return Response(make_thumbnail(upload, at), mimetype="image/jpeg")
