"""The IOC case database: call records, cases, dossiers, users, audit, and the sync to the IOC.

Imports neither ivr/ nor api/; both use it. Public modules:

- `cases.db`: `make_engine(url)`, `upgrade(engine_or_url)`, `session_factory`, `unit_of_work`
- `cases.calls`: `SqlCallRecorder(engine)` (an ``ivr.ports.CallRecorder``), `get_call`,
  `find_call`, `search_calls(session, CallFilter, offset, limit)`
- `cases.services`: `create_case`, `classify`, `assign`, `change_status`, `add_note`,
  `get_case`, `get_case_by_reference`, `case_with_history`, `list_cases`, `complaint_status`
- `cases.dossiers`: `DossierCodeFormat`, `DossierDirectory` (Protocol), `SqlDossierDirectory`,
  `HttpDossierDirectory`, `lookup_dossier`, `import_dossiers`
- `cases.users`: `create_user`, `authenticate`, `get_user`, `hash_password`, `verify_password`
- `cases.audit`: `record`, `entries_for`
- `cases.sync`: `OutboxRelay`, `sync_status`; `cases.ioc`: the IOC-side tables
- `cases.config`: `load_config(dialplans/province.yaml)`; `cases.places`: `PlaceDirectory`
- `cases.domain`: categories, statuses, the workflow table, reference numbers, `mask_phone`
- `cases.models`: the SQLAlchemy models; `cases.errors`: every error (root `CasesError`)
"""
