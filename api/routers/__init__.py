"""Routers, one per resource. Thin: parse, check who may, call a service or query, present."""
