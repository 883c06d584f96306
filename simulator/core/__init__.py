"""The numeric core: projection, fund response, targets and their linear forms.

Pure numpy over (sample, cluster, year) arrays. Imports no Pyomo, no click and does no file
I/O (``tests/test_architecture.py`` checks it).
"""
