"""Report export endpoints."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from service.auth import User, current_user
from service.reports.exporter import ExportJob, enqueue_export
from service.reports.audit import record_download

log = logging.getLogger(__name__)
router = APIRouter(prefix="/reports")

EXPORT_DIR = Path(os.environ.get("REPORT_EXPORT_DIR", "/var/lib/reports/exports"))


@router.post("/{report_id}/export")
def start_export(report_id: int, user: User = Depends(current_user)) -> dict[str, str]:
    """Queue an export; the file appears in EXPORT_DIR when the job finishes."""
    if not user.can_read_report(report_id):
        raise HTTPException(status_code=403, detail="not allowed to export this report")
    job: ExportJob = enqueue_export(report_id, requested_by=user.id)
    log.info("export queued", extra={"report_id": report_id, "job": job.id})
    return {"job_id": job.id, "file_name": job.file_name}


@router.get("/files/{name}")
def download_export(name: str, user: User = Depends(current_user)) -> FileResponse:
    """Stream an exported report file to the user who asked for it."""
    path = EXPORT_DIR / name
    size = path.stat().st_size
    record_download(user_id=user.id, file_name=name, size=size)
    log.info("export downloaded", extra={"file": name, "user": user.id, "bytes": size})
    return FileResponse(path, media_type="text/csv", filename=name)
