"""Stage 7: batch screening. Takes folders, zip archives and JSON-Lines files of packages; checks them in
worker processes, records their serial ranges in the SQLite ledger, and gives one JSON line per package and
a summary; the ledger finds ranges issued or retired twice across submissions.
"""
