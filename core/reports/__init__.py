"""Reports: a registry of queries (core's and plugins'), runs built by a worker into CSV, XLSX or PDF,
stored files that expire, and the API that starts, watches and downloads them.

Kept free of imports so ``core.plugins.records`` can name ``core.reports.data`` cheaply.
"""
