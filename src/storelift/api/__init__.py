"""The real-time HTTP service: FastAPI app factory, settings, and a launcher for `storelift serve`."""

from .app import create_app
from .launch import ServerProcess, start_server
from .settings import ServeSettings

__all__ = ["ServeSettings", "ServerProcess", "create_app", "start_server"]
