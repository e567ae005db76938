"""Saying the answer (pure): a plan and its result rows → one plain sentence.

`answers.answer_sentence` is the entry point; `teams` and `games` word each intent;
`phrases` holds the view of one result and the helpers every sentence is made of. No I/O here.
"""
