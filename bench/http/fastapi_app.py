"""FastAPI reference server for bench/http/run.

Serves GET /health with the JSON object given in the HEALTH_JSON environment
variable (the body playground's /health returned), the way a typical FastAPI
service would: the handler returns a dict and FastAPI serialises it.
"""

import json
import os

from fastapi import FastAPI

HEALTH = json.loads(os.environ.get("HEALTH_JSON", '{"status": "ok"}'))

app = FastAPI()


@app.get("/health")
async def health():
    return HEALTH
