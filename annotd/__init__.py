"""annotd: a single-process collaboration backend for annotating one image together.

The package is split by job: ``room`` (sans-I/O sequencing), ``canvas`` (the document
schema and its materialized view), ``commands`` (every command defined once), and thin
adapters for websockets (``wsserver``) and aiohttp (``httpserver``).
"""

__version__ = "0.1.0"
