"""Answering analytics questions: catalog → parse → cache → read-only query → sentence.

Runs in the `analytics` Celery queue in production and in the server's blocking runner on
the embedded default; the very same functions either way.
"""
