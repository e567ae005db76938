"""Understanding a question (pure): question text + what the event is → a plan, or a refusal.

`parser.parse_question` is the entry point; `reading`, `vocabulary`, `names`, `dates` and
`text` are its parts; `context` is what it knows about the event; `examples` are the working
questions offered when one is not understood. No I/O here: no database, network or clock.
"""
