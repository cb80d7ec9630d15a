"""Composition root of the 1900 9120 hotline: settings, the `hotline` CLI and the wiring.

This is the only package that imports ivr/, speech/, cases/ and api/ together and picks
the real implementations (cosmicpython's bootstrap).
"""
