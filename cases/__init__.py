"""The IOC case database: call records, cases, dossiers, users, audit, and the sync to the IOC.

Imports neither ivr/ nor api/; both use it.
"""
