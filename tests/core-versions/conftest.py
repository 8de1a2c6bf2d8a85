"""Keep `make pytest` (pytest tests) out of the version matrix's Molecule scenario.

Its testinfra tests need the controller container and Molecule's environment;
tests/core-versions/run.sh runs them there (Molecule's verifier passes
--noconftest, so this file does not hide them from it).
"""

collect_ignore = ['molecule']
