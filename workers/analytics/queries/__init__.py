"""Running a plan (I/O): plan → parameterised SQLAlchemy statements → JSON-ready rows.

`executor.execute_plan` is the entry point; `teams` and `games` build each intent's
statements; `runner` binds parameters, records `explain` and holds the filters every query
shares; `readonly` opens the read-only, time-limited transaction they run in.
"""
