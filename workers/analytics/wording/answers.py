"""A plan and its result rows → one plain sentence that states the answer (pure).

The sentence names the team(s) and the number(s) asked for, ties as ties, and no team that is
not part of the answer: a leader sentence names only the leaders, a count names no team at all.
The supporting data stays in `columns`/`rows`. Rows are read by column name, as the executor
(workers/analytics/queries/executor.py) returns them.

`team_names` ({team id: name}) lets a sentence name the plan's teams when the rows do not (no
head-to-head games yet, a team's count). `metric_words` may rename the scoring unit for other
sports: {"goal": "run", "goals": "runs"}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workers.analytics.plan import Plan
from workers.analytics.wording.games import (
    average_sentence,
    count_sentence,
    extreme_sentence,
    form_sentence,
    games_sentence,
    head_to_head_sentence,
    total_sentence,
)
from workers.analytics.wording.phrases import DEFAULT_WORDS, View
from workers.analytics.wording.shapes import (
    check_sentence,
    compare_sentence,
    difference_sentence,
    filter_sentence,
    opponents_sentence,
    share_sentence,
    split_sentence,
)
from workers.analytics.wording.teams import (
    leader_sentence,
    table_sentence,
    team_record_sentence,
    team_value_sentence,
    top_n_sentence,
)


def answer_sentence(
    plan: Plan,
    columns: list[str],
    rows: list[list[Any]],
    *,
    event_name: str,
    metric_words: Mapping[str, str] | None = None,
    team_names: Mapping[int, str] | None = None,
) -> str:
    view = View(
        plan=plan,
        records=[dict(zip(columns, row, strict=True)) for row in rows],
        event=event_name,
        words={**DEFAULT_WORDS, **(metric_words or {})},
        names=dict(team_names or {}),
    )
    return _SENTENCES[plan.intent](view)


_SENTENCES: dict[str, Callable[[View], str]] = {
    "leader": leader_sentence,
    "top_n": top_n_sentence,
    "team_value": team_value_sentence,
    "team_record": team_record_sentence,
    "head_to_head": head_to_head_sentence,
    "count": count_sentence,
    "total": total_sentence,
    "average": average_sentence,
    "extreme": extreme_sentence,
    "table": table_sentence,
    "form": form_sentence,
    "games": games_sentence,
    "filter": filter_sentence,
    "compare": compare_sentence,
    "difference": difference_sentence,
    "split": split_sentence,
    "share": share_sentence,
    "opponents": opponents_sentence,
    "check": check_sentence,
}
