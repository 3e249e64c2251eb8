"""The yardstick: a bare FastAPI endpoint that parses the same JSON and answers without storing.

``POST /hooks/{source}`` answers 202 like Passerelle's receiver; ``POST /ok`` is the instant
outside API the worker benchmark calls. Served by ``bench.servers`` with uvicorn exactly as
``passerelle serve`` is served (one process, same loop and HTTP parser, no access log).
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/hooks/{source}")
async def hook(source: str, request: Request) -> JSONResponse:
    data = json.loads(await request.body())
    return JSONResponse({"source": source, "keys": len(data)}, status_code=202)


@app.post("/ok")
async def ok(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ok": True})
