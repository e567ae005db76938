"""Property tests: invariants every standings table must satisfy, whatever the results."""

from collections import defaultdict
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from models.domain.standings import (
    TIEBREAKERS,
    Result,
    Row,
    Scoring,
    TeamEntry,
    compute_standings,
)

FAST = settings(max_examples=100, deadline=None)

NAMES = st.text(alphabet="abcAB", min_size=1, max_size=3)
GROUPS = st.sampled_from([None, "A", "b"])
TIEBREAKER_LISTS = st.permutations(TIEBREAKERS).flatmap(
    lambda perm: st.integers(0, len(perm)).map(lambda k: perm[:k])
)
SCORINGS = st.builds(
    Scoring, win=st.integers(0, 5), draw=st.integers(0, 3), loss=st.integers(-1, 1)
)


@st.composite
def seasons(draw: st.DrawFn, grouped: bool = False) -> tuple[list[TeamEntry], list[Result]]:
    """Random teams and results between distinct known teams (plus the odd stranger)."""
    n = draw(st.integers(1, 7))
    teams = [TeamEntry(i, draw(NAMES), draw(GROUPS) if grouped else None) for i in range(1, n + 1)]
    ids = st.integers(1, n + 1)  # n + 1 is unknown and must be ignored
    pair = st.tuples(ids, ids).filter(lambda p: p[0] != p[1])
    score = st.integers(0, 4)
    results = draw(
        st.lists(
            st.builds(lambda p, h, a: Result(p[0], p[1], h, a), pair, score, score), max_size=20
        )
    )
    return teams, results


def known(teams: list[TeamEntry], results: list[Result]) -> list[Result]:
    """Results that count: both teams known and in the same group."""
    group = {t.team_id: t.group for t in teams}
    return [
        r
        for r in results
        if r.home_team_id in group
        and r.away_team_id in group
        and group[r.home_team_id] == group[r.away_team_id]
    ]


def by_group(rows: list[Row]) -> dict[str | None, list[Row]]:
    tables: dict[str | None, list[Row]] = defaultdict(list)
    for row in rows:
        tables[row.group].append(row)
    return tables


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_points_total_matches_points_awarded(season, scoring, tiebreakers) -> None:
    teams, results = season
    rows = compute_standings(teams, results, scoring, tiebreakers)
    awarded = sum(
        scoring.points_for(r.home_score, r.away_score)
        + scoring.points_for(r.away_score, r.home_score)
        for r in known(teams, results)
    )
    assert sum(r.points for r in rows) == awarded


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_row_arithmetic_is_consistent(season, scoring, tiebreakers) -> None:
    teams, results = season
    rows = compute_standings(teams, results, scoring, tiebreakers)
    assert sorted(r.team_id for r in rows) == sorted(t.team_id for t in teams)
    for r in rows:
        assert r.played == r.won + r.drawn + r.lost
        assert r.score_diff == r.score_for - r.score_against
        assert r.points == r.won * scoring.win + r.drawn * scoring.draw + r.lost * scoring.loss
    assert sum(r.score_for for r in rows) == sum(r.score_against for r in rows)
    assert sum(r.played for r in rows) == 2 * len(known(teams, results))


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_ranks_are_competition_ranking_per_group(season, scoring, tiebreakers) -> None:
    teams, results = season
    for table in by_group(compute_standings(teams, results, scoring, tiebreakers)).values():
        ranks = [r.rank for r in table]
        assert ranks[0] == 1
        assert ranks == sorted(ranks)
        for position, rank in enumerate(ranks):
            # Competition style: a rank equals 1 + the number of teams strictly above it.
            assert rank == 1 + sum(other < rank for other in ranks)
            assert rank in (position + 1, ranks[position - 1])


@FAST
@given(seasons(grouped=True), SCORINGS, TIEBREAKER_LISTS)
def test_ranks_respect_points(season, scoring, tiebreakers) -> None:
    teams, results = season
    for table in by_group(compute_standings(teams, results, scoring, tiebreakers)).values():
        for a in table:
            for b in table:
                if a.rank == b.rank:
                    assert a.points == b.points
                if a.points > b.points:
                    assert a.rank < b.rank


@FAST
@given(seasons(grouped=True))
def test_groups_are_listed_none_first_then_by_name(season) -> None:
    teams, results = season
    groups = [r.group for r in compute_standings(teams, results)]
    seen = list(dict.fromkeys(groups))
    assert seen == sorted(seen, key=lambda g: (g is not None, (g or "").casefold(), g or ""))


@FAST
@given(seasons(), SCORINGS, TIEBREAKER_LISTS, st.randoms(use_true_random=False))
def test_result_order_does_not_matter(season, scoring, tiebreakers, rnd) -> None:
    teams, results = season
    shuffled = list(results)
    rnd.shuffle(shuffled)
    assert compute_standings(teams, shuffled, scoring, tiebreakers) == compute_standings(
        teams, results, scoring, tiebreakers
    )


@FAST
@given(seasons(), st.randoms(use_true_random=False))
def test_team_order_does_not_matter(season, rnd) -> None:
    teams, results = season
    shuffled = list(teams)
    rnd.shuffle(shuffled)
    assert compute_standings(shuffled, results) == compute_standings(teams, results)


@FAST
@given(seasons(), TIEBREAKER_LISTS)
def test_score_diff_first_orders_equal_points_by_difference(season, rest) -> None:
    teams, results = season
    tiebreakers = ["score_diff", *(t for t in rest if t != "score_diff")]
    rows = compute_standings(teams, results, tiebreakers=tiebreakers)
    for better, worse in pairwise(rows):
        if better.points == worse.points:
            assert better.score_diff >= worse.score_diff
            if better.score_diff != worse.score_diff:
                assert better.rank < worse.rank


@FAST
@given(seasons())
def test_tied_rows_are_listed_by_casefolded_name(season) -> None:
    teams, results = season
    rows = compute_standings(teams, results)
    for a, b in pairwise(rows):
        if a.rank == b.rank:
            assert (a.team_name.casefold(), a.team_id) < (b.team_name.casefold(), b.team_id)


@FAST
@given(seasons())
def test_adding_a_tiebreaker_only_splits_ties(season) -> None:
    teams, results = season
    coarse = {r.team_id: r.rank for r in compute_standings(teams, results, tiebreakers=[])}
    fine = compute_standings(teams, results, tiebreakers=["score_diff"])
    # Teams that were strictly ordered by points keep that relative order.
    for a in fine:
        for b in fine:
            if coarse[a.team_id] < coarse[b.team_id]:
                assert a.rank < b.rank
