"""The CSV format, without a database: parsing, every validation rule, escaping, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.schemas.events import TeamCreateSchema
from server.schemas.games import GameCreateSchema
from server.services.csv_import import (
    COLUMNS,
    GAME_FIELDS,
    MAX_ERRORS,
    MAX_ROWS,
    TEAM_FIELDS,
    ExportGame,
    ExportTeam,
    GamePlan,
    ImportPlan,
    RowError,
    TeamPlan,
    decode_upload,
    error_details,
    escape_cell,
    parse_import,
    render_export,
    unescape_cell,
)

HEADER = ",".join(COLUMNS)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def text(*rows: str, header: str = HEADER, end: str = "\r\n") -> str:
    return end.join([header, *rows]) + end


def plan_of(source: str, **kwargs: object) -> ImportPlan:
    result = parse_import(source, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, ImportPlan), result
    return result


def errors_of(source: str, **kwargs: object) -> list[tuple[int, str | None]]:
    result = parse_import(source, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, list), result
    return [(error.row, error.column) for error in result]


def only_error(source: str, **kwargs: object) -> RowError:
    result = parse_import(source, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, list) and len(result) == 1, result
    return result[0]


# --- what is accepted ---------------------------------------------------------------------


def test_teams_and_games() -> None:
    plan = plan_of(
        text(
            "team,Lions,A,,,,,,,,",
            "team,Tigers,,,,,,,,,",
            "game,,,Lions,Tigers,2025-06-01T18:00:00+02:00,Main,3,2,1,final",
            "game,,,Tigers,Lions,,,,,,",
        )
    )
    assert plan.teams == [TeamPlan(2, "Lions", "A"), TeamPlan(3, "Tigers", None)]
    assert plan.games == [
        GamePlan(
            4,
            "Lions",
            "Tigers",
            datetime(2025, 6, 1, 16, tzinfo=UTC),
            "Main",
            3,
            2,
            1,
            "final",
        ),
        GamePlan(5, "Tigers", "Lions", None, None, None, None, None, "scheduled"),
    ]
    assert plan.final_games == 1


def test_bom_lf_and_crlf_are_all_read() -> None:
    rows = ("team,Lions,,,,,,,,,", "team,Tigers,,,,,,,,,")
    expected = plan_of(text(*rows)).teams
    assert plan_of("\ufeff" + text(*rows)).teams == expected
    assert plan_of(text(*rows, end="\n")).teams == expected
    assert plan_of(text(*rows, end="\r")).teams == expected
    assert plan_of(text(*rows).rstrip("\r\n")).teams == expected  # no final line end


def test_quoted_cells_keep_commas_and_quotes() -> None:
    plan = plan_of(
        text(
            'team,"Bears, the","Group ""B""",,,,,,,,',
            "team,Wolves,,,,,,,,,",
            'game,,,"Bears, the",Wolves,,"Arena, North",,,,',
        )
    )
    assert plan.teams[0] == TeamPlan(2, "Bears, the", 'Group "B"')
    assert plan.games[0].venue == "Arena, North"


def test_unicode_names_are_normalised_and_matched_ignoring_case() -> None:
    plan = plan_of(
        text(
            "team,Cafe\u0301 Ñandú,,,,,,,,,",  # decomposed é
            "team,Straße,,,,,,,,,",
            "team,東京,,,,,,,,,",
            "game,,,CAFÉ ñandú,STRASSE,,,,,,",
            "game,,,東京,café ñandú,,,,,,",
        )
    )
    assert [team.name for team in plan.teams] == ["Café Ñandú", "Straße", "東京"]
    assert [(g.home, g.away) for g in plan.games] == [
        ("Café Ñandú", "Straße"),
        ("東京", "Café Ñandú"),
    ]


def test_header_in_any_order_and_case_with_only_some_columns() -> None:
    plan = plan_of(
        text("Lions,team,", "Tigers,team,", header=" Name ,KIND,home"),
    )
    assert [team.name for team in plan.teams] == ["Lions", "Tigers"]
    # The game lacks `away`: required.
    plan_or_errors = parse_import(text("Lions,team,", ",game,Lions", header="name,kind,home"))
    assert plan_or_errors == [RowError(3, "away", "required")]


def test_blank_rows_are_skipped_but_counted() -> None:
    error = only_error(text("team,Lions,,,,,,,,,", "", ",,,,,,,,,,", "team,,,,,,,,,,"))
    assert (error.row, error.column) == (5, "name")


def test_kind_and_status_ignore_case_and_cells_are_trimmed() -> None:
    plan = plan_of(
        text(
            " TEAM , Lions ,  ,,,,,,,,",
            "Team,Tigers,,,,,,,,,",
            "Game,,, lions , tigers ,  , ,, 1 , 0 , Final ",
        )
    )
    assert plan.teams[0] == TeamPlan(2, "Lions", None)
    game = plan.games[0]
    assert (game.home, game.away, game.venue, game.round) == ("Lions", "Tigers", None, None)
    assert (game.home_score, game.away_score, game.status) == (1, 0, "final")


def test_games_may_use_teams_already_in_the_event() -> None:
    plan = plan_of(text("game,,,LIONS,tigers,,,,,,"), existing_teams=["Lions", "Tigers"])
    assert plan.teams == []
    assert (plan.games[0].home, plan.games[0].away) == ("Lions", "Tigers")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2025-06-01T18:00:00Z", datetime(2025, 6, 1, 18, tzinfo=UTC)),
        ("2025-06-01t18:00:00z", datetime(2025, 6, 1, 18, tzinfo=UTC)),
        ("2025-06-01 18:00:00-05:30", datetime(2025, 6, 1, 23, 30, tzinfo=UTC)),
        ("2025-06-01T18:00:00.250+01:00", datetime(2025, 6, 1, 17, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_rfc3339_timestamps(cell: str, expected: datetime) -> None:
    plan = plan_of(text("team,A,,,,,,,,,", "team,B,,,,,,,,,", f"game,,,A,B,{cell},,,,,"))
    assert plan.games[0].starts_at == expected


@pytest.mark.parametrize(
    ("status", "home", "away"),
    [("live", "0", "0"), ("final", "3", "3"), ("cancelled", "", ""), ("cancelled", "1", "0")],
)
def test_scores_and_statuses(status: str, home: str, away: str) -> None:
    plan = plan_of(
        text("team,A,,,,,,,,,", "team,B,,,,,,,,,", f"game,,,A,B,,,,{home},{away},{status}")
    )
    assert plan.games[0].status == status


def test_a_header_alone_is_an_empty_plan() -> None:
    assert plan_of(text()) == ImportPlan()


# --- every error kind, with its row and column -----------------------------------------------


def test_empty_file() -> None:
    assert only_error("") == RowError(
        1, None, "the file is empty; the first row must be the header"
    )
    assert only_error("\ufeff").row == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("kind,name,colour", [(1, "colour")]),
        ("kind,name,NAME", [(1, "name")]),
        ("kind,,name", [(1, None)]),
        ("name,group", [(1, "kind")]),
        ("", [(1, "kind")]),
    ],
)
def test_header_errors(header: str, expected: list[tuple[int, str | None]]) -> None:
    assert errors_of(text("team,Lions,", header=header)) == expected


def test_wrong_number_of_cells() -> None:
    error = only_error(text("team,Lions,,,,,,,,,", "team,Tigers"))
    assert (error.row, error.column) == (3, None)
    assert "2 cells" in error.message and "11" in error.message
    assert errors_of(text("team,Tigers", "team,Bears,,,,,,,,,,,")) == [(2, None), (3, None)]


def test_unknown_kind() -> None:
    for kind in ("", "player", "teams"):
        error = only_error(text(f"{kind},Lions,,,,,,,,,"))
        assert (error.row, error.column) == (2, "kind")


def test_cells_of_the_other_kind_must_be_empty() -> None:
    assert errors_of(text("team,Lions,,Tigers,,,Main,,1,,final")) == [
        (2, "home"),
        (2, "venue"),
        (2, "home_score"),
        (2, "status"),
    ]
    assert errors_of(text("team,A,,,,,,,,,", "team,B,,,,,,,,,", "game,X,G,A,B,,,,,,")) == [
        (4, "name"),
        (4, "group"),
    ]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("team,,,,,,,,,,", "name", "required"),
        ("team,   ,,,,,,,,,", "name", "required"),
        (f"team,{'x' * 101},,,,,,,,,", "name", "length"),
        ("team,Bad\u0000Name,,,,,,,,,", "name", "control characters"),
        ("team,Bad\u200bName,,,,,,,,,", "name", "control characters"),
        ('team,"Two\nLines",,,,,,,,,', "name", "control characters"),
        (f"team,Lions,{'g' * 51},,,,,,,,", "group", "length"),
    ],
)
def test_team_cells(row: str, column: str, message: str) -> None:
    error = only_error(text(row))
    assert (error.row, error.column) == (2, column)
    assert message in error.message


def test_team_names_are_unique_ignoring_case() -> None:
    error = only_error(text("team,Lions,,,,,,,,,", "team,LIONS,,,,,,,,,"))
    assert (error.row, error.column) == (3, "name")
    assert "row 2" in error.message
    error = only_error(text("team,Straße,,,,,,,,,"), existing_teams=["STRASSE"])
    assert (error.row, error.column) == (2, "name")
    assert "STRASSE" in error.message


GAME_TEAMS = ("team,A,,,,,,,,,", "team,B,,,,,,,,,")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (",B,,,,,,", "home", "required"),
        ("A,,,,,,,", "away", "required"),
        ("A,A,,,,,,", "away", "cannot play itself"),
        ("A,a,,,,,,", "away", "cannot play itself"),
        ("A,Nobody,,,,,,", "away", "no team named 'Nobody'"),
        ("Nobody,B,,,,,,", "home", "no team named 'Nobody'"),
        ("A,B,2025-06-01T18:00:00,,,,,", "starts_at", "RFC 3339"),
        ("A,B,2025-06-01,,,,,", "starts_at", "RFC 3339"),
        ("A,B,tomorrow,,,,,", "starts_at", "RFC 3339"),
        ("A,B,2025-13-01T18:00:00Z,,,,,", "starts_at", "valid datetime"),
        ("A,B,1800-06-01T18:00:00Z,,,,,", "starts_at", "year"),
        (f"A,B,,{'v' * 101},,,,", "venue", "length"),
        ("A,B,,,0,,,", "round", "greater than or equal to 1"),
        ("A,B,,,10001,,,", "round", "less than or equal to 10000"),
        ("A,B,,,1.5,,,", "round", "whole number"),
        ("A,B,,,,-1,0,final", "home_score", "greater than or equal to 0"),
        ("A,B,,,,1,2.0,final", "away_score", "whole number"),
        ("A,B,,,,1e3,0,final", "home_score", "whole number"),
        ("A,B,,,,1_000,0,final", "home_score", "whole number"),
        ("A,B,,,,\u0661,0,final", "home_score", "whole number"),  # an Arabic-Indic digit
        ("A,B,,,,100001,0,final", "home_score", "less than or equal to 100000"),
        ("A,B,,,,,,over", "status", "must be one of"),
        ("A,B,,,,1,0,", "home_score", "scheduled game has no score"),
        ("A,B,,,,,0,scheduled", "away_score", "scheduled game has no score"),
        ("A,B,,,,,,final", "home_score", "required for a final game"),
        ("A,B,,,,2,,live", "away_score", "required for a live game"),
        ("A,B,,,,2,,cancelled", "away_score", "both scores or neither"),
    ],
)
def test_game_cells(cells: str, column: str, message: str) -> None:
    result = parse_import(text(*GAME_TEAMS, f"game,,,{cells}"))
    assert isinstance(result, list), result
    assert (result[0].row, result[0].column) == (4, column), result
    assert message in result[0].message, result


def test_both_missing_scores_are_reported() -> None:
    assert errors_of(text(*GAME_TEAMS, "game,,,A,B,,,,,,final")) == [
        (4, "home_score"),
        (4, "away_score"),
    ]


def test_teams_must_be_defined_before_their_games() -> None:
    error = only_error(text("team,A,,,,,,,,,", "game,,,A,B,,,,,,", "team,B,,,,,,,,,"))
    assert (error.row, error.column) == (3, "away")
    assert "row 4" in error.message


def test_a_knockout_game_needs_a_winner() -> None:
    draw = text(*GAME_TEAMS, "game,,,A,B,,,1,2,2,final")
    assert isinstance(parse_import(draw), ImportPlan)
    error = only_error(draw, knockout=True)
    assert (error.row, error.column) == (4, "away_score")
    # Outside the bracket's rounds (no round) and before the end, a level score is fine.
    assert isinstance(
        parse_import(text(*GAME_TEAMS, "game,,,A,B,,,,2,2,final"), knockout=True), ImportPlan
    )
    assert isinstance(
        parse_import(text(*GAME_TEAMS, "game,,,A,B,,,1,2,2,live"), knockout=True), ImportPlan
    )


def test_broken_quoting_names_its_row() -> None:
    error = only_error(text("team,Lions,,,,,,,,,", 'team,"Tigers,,,,,,,,,'))
    assert (error.row, error.column) == (3, None)
    error = only_error(text('team,"Li"ons,,,,,,,,,'))
    assert (error.row, error.column) == (2, None)


def test_a_cell_spanning_lines_is_one_row() -> None:
    # The venue holds a line break (refused: a control character); the next row is row 4.
    result = parse_import(
        text(
            *GAME_TEAMS[:1], "team,B,,,,,,,,,", 'game,,,A,B,,"North\r\nStand",,,,', "team,,,,,,,,,,"
        )
    )
    assert isinstance(result, list)
    assert [(e.row, e.column) for e in result] == [(4, "venue"), (5, "name")]


def test_all_errors_are_collected_in_file_order() -> None:
    assert errors_of(
        text(
            "team,Lions,,,,,,,,,",
            "game,,,Lions,Nobody,x,,,,,",  # 3: away unknown, starts_at bad
            "team,,,,,,,,,,",  # 4
            "team,LIONS,,,,,,,,,",  # 5
            "x,,,,,,,,,,",  # 6
        )
    ) == [(3, "away"), (3, "starts_at"), (4, "name"), (5, "name"), (6, "kind")]


def test_errors_stop_soon_after_the_cap() -> None:
    rows = [f"team,{'x' * 101},,,,,,,,," for _ in range(MAX_ERRORS * 3)]
    errors = parse_import(text(*rows))
    assert isinstance(errors, list)
    assert MAX_ERRORS < len(errors) <= MAX_ERRORS + 2
    details = error_details(errors)
    assert len(details["errors"]) == MAX_ERRORS and details["truncated"] is True
    assert details["errors"][0] == {"row": 2, "column": "name", "message": errors[0].message}
    assert error_details(errors[:3])["truncated"] is False


def test_row_limit() -> None:
    rows = [f"team,Team {i},,,,,,,,," for i in range(MAX_ROWS)]
    assert len(plan_of(text(*rows, "", "")).teams) == MAX_ROWS
    error = only_error(text(*rows, "team,One too many,,,,,,,,,"))
    assert error == RowError(MAX_ROWS + 2, None, f"too many rows: at most {MAX_ROWS} per import")


# --- decoding -------------------------------------------------------------------------------


def test_decode_utf8_with_or_without_bom() -> None:
    assert decode_upload(b"kind\r\nteam") == "kind\r\nteam"
    assert decode_upload("\ufeffkind,name\r\nteam,Ñandú".encode()) == "kind,name\r\nteam,Ñandú"


def test_invalid_utf8_names_its_row() -> None:
    result = decode_upload(b"kind,name\r\nteam,Lions\r\nteam,Caf\xe9\r\n")
    assert isinstance(result, list)
    assert (result[0].row, result[0].column) == (3, None)
    assert "byte 31" in result[0].message  # counted from the start of the file
    bom = decode_upload(b"\xef\xbb\xbfkind,name\r\nteam,\xff")
    assert isinstance(bom, list) and bom[0].row == 2 and "byte 19" in bom[0].message


# --- limits shared with the JSON API ------------------------------------------------------


def test_cell_limits_are_the_json_apis() -> None:
    team = TeamCreateSchema().fields
    game = GameCreateSchema().fields
    pairs = [
        (TEAM_FIELDS["name"], team["name"]),
        (TEAM_FIELDS["group"], team["group"]),
        (GAME_FIELDS["venue"], game["venue"]),
    ]
    for ours, theirs in pairs:
        assert ours.max_length == theirs.max_length  # type: ignore[attr-defined]
    assert GAME_FIELDS["round"].validators[0].max == game["round"].validators[0].max  # type: ignore[attr-defined]


# --- formula injection --------------------------------------------------------------------


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_formula_cells_are_escaped(trigger: str) -> None:
    assert escape_cell(f"{trigger}1+1") == f"'{trigger}1+1"
    assert unescape_cell(f"'{trigger}1+1") == f"{trigger}1+1"


@pytest.mark.parametrize("value", ["Lions", "", "'", "'Til Death", "1-0", "a=b", " =x"])
def test_other_cells_are_left_alone(value: str) -> None:
    assert escape_cell(value) == value
    assert unescape_cell(value) == value


def test_quotes_before_a_formula_get_one_more() -> None:
    assert escape_cell("'=x") == "''=x"
    assert unescape_cell("''=x") == "'=x"


@given(st.text())
def test_escaping_round_trips_and_defuses(value: str) -> None:
    escaped = escape_cell(value)
    assert unescape_cell(escaped) == value
    assert not escaped.startswith(TRIGGERS)


# --- export -------------------------------------------------------------------------------


def test_export_writes_the_import_format() -> None:
    out = render_export(
        [ExportTeam("Lions", "A"), ExportTeam("Bears, the", None)],
        [
            ExportGame(
                "Lions",
                "Bears, the",
                datetime(2025, 6, 1, 16, tzinfo=UTC),
                "Main",
                1,
                2,
                1,
                "final",
            ),
            ExportGame("Bears, the", "Lions", None, None, None, None, None, "scheduled"),
        ],
    )
    assert out == (
        f"{HEADER}\r\n"
        "team,Lions,A,,,,,,,,\r\n"
        'team,"Bears, the",,,,,,,,,\r\n'
        'game,,,Lions,"Bears, the",2025-06-01T16:00:00Z,Main,1,2,1,final\r\n'
        'game,,,"Bears, the",Lions,,,,,,scheduled\r\n'
    )


def test_export_escapes_formulas_and_imports_back_verbatim() -> None:
    payload = '=HYPERLINK("http://x")'
    teams = [
        ExportTeam(payload, "+1"),
        ExportTeam("@SUM(A1)", "-2"),
        ExportTeam("\u0007Bell", None),
        ExportTeam("'=quoted", None),
    ]
    games = [ExportGame(payload, "@SUM(A1)", None, "=venue", 1, 0, 0, "live")]
    out = render_export(teams, games)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(TRIGGERS) for cell in cells)
    assert rows[1][1] == "'" + payload and rows[1][2] == "'+1"
    assert rows[2][1:3] == ["'@SUM(A1)", "'-2"]
    assert rows[4][1] == "''=quoted"
    assert rows[5][3:7] == ["'" + payload, "'@SUM(A1)", "", "'=venue"]
    # Without the name the spreadsheet would ring a bell for, it imports back unchanged.
    plan = plan_of(out.replace("team,\u0007Bell,,,,,,,,,\r\n", ""))
    assert [(t.name, t.group) for t in plan.teams] == [
        (payload, "+1"),
        ("@SUM(A1)", "-2"),
        ("'=quoted", None),
    ]
    assert (plan.games[0].home, plan.games[0].away, plan.games[0].venue) == (
        payload,
        "@SUM(A1)",
        "=venue",
    )


def test_export_round_trips() -> None:
    teams = [ExportTeam("Lions", "A"), ExportTeam("Tigres Ñandú", None), ExportTeam("-X-", "B")]
    games = [
        ExportGame(
            "Lions", "-X-", datetime(2025, 6, 1, 16, 30, tzinfo=UTC), "N, S", 2, 3, 3, "final"
        ),
        ExportGame("-X-", "Tigres Ñandú", None, None, None, 1, 0, "cancelled"),
        ExportGame("Tigres Ñandú", "Lions", None, None, 4, None, None, "scheduled"),
    ]
    plan = plan_of(render_export(teams, games))
    assert [ExportTeam(t.name, t.group) for t in plan.teams] == teams
    assert [
        ExportGame(
            g.home, g.away, g.starts_at, g.venue, g.round, g.home_score, g.away_score, g.status
        )
        for g in plan.games
    ] == games
