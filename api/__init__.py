"""The REST API (FastAPI) over the case database: calls, cases, dossiers, Open311."""
