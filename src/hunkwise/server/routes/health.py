"""Liveness (the process answers) and readiness (the database answers, and the job broker in
distributed mode) for load balancers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import RuntimeDep
from hunkwise.server.schemas import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"description": "the database (or the job broker) is unreachable"}},
)
async def readyz(request: Request, runtime: RuntimeDep) -> Ready:
    engine = runtime.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the database is unreachable ({type(exc).__name__})"
        ) from None
    publisher = getattr(request.app.state, "job_publisher", None)
    if publisher is not None:  # distributed mode: webhooks are only useful if jobs can be published
        try:
            await run_in_threadpool(publisher.depth)
        except Exception as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"the job broker is unreachable ({type(exc).__name__})"
            ) from None
    return Ready(database=engine.dialect.name, mode=runtime.slots.mode)
