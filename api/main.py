"""Entry point for uvicorn's factory mode: ``uvicorn --factory api.main:factory``.

Reads the settings from the environment (``HOTLINE_*``) and builds the app; nothing is built
at import time.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from hotline.settings import load_settings


def factory() -> FastAPI:
    return create_app(load_settings())
