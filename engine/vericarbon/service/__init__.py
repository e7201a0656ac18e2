"""Stage 10: the registry intake service (`vericarbon serve`, `pip install 'vericarbon[serve]'`).

An HTTP API (Starlette on uvicorn, app.py) takes submissions and answers at once with an id; worker
processes (worker.py) take the queued submissions from the database, check them as `verify` does, record
their serial ranges in the credit ledger and post signed webhooks on each decision. Everything lives in one
database (store.py): SQLite by default, PostgreSQL given a URL, so any number of service and worker
processes on any number of machines share one queue, one ledger and one audit log.
"""
