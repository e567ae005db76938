"""Answering analytics questions: question → plan → read-only query → sentence.

The plan (`plan.py`) is the boundary between understanding a question and running it:

- `language/` (pure): question text → plan, or UnrecognizedQuestion with examples;
- `plan.py` (pure): the plan, a marshmallow schema over allow-listed words, ids and dates;
- `queries/`: plan → parameterised statements in a read-only, time-limited transaction → rows;
- `wording/` (pure): plan + rows → one sentence;
- `service.py` one question end to end (which event, cache, planner fallback); `errors.py`
  the codes an unanswerable question is refused with; `cache.py`, `llm.py` (the optional
  language-model planner), `runtime.py` (what a process builds once from the settings).

Runs in the `analytics` Celery queue in production and in the server's blocking runner on
the embedded default; the very same functions either way.
"""
