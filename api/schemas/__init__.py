"""Request and response schemas of the REST API, input and output kept apart.

Inputs (`CaseCreate`, `CaseStatusChange`, ...) forbid unknown fields so a typo is a 422, not a
silently ignored value; outputs (`CasePublic`, `CasesPublic(data, count)`, ...) are built from
the models by the routers, with caller numbers already masked for whoever may not see them.
"""
