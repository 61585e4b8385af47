"""storelift: an open-source AI marketing engine for online stores."""

from .workspace import Workspace

__version__ = "0.1.0"
__all__ = ["Workspace", "__version__"]
