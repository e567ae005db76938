"""The words the parser understands: phrases → concept tags, numbers, common words.

Every synonym lives here as data so that adding a paraphrase never touches the rules in
``parser.py``: the rules only ever look at tags ("WIN", "AGAINST", "MOST"), never at words.
Phrases are matched longest first, so "goal difference" wins over "goal" and "win rate" over
"win". Words are the folded forms produced by ``text.tokenize`` (lowercase, no accents).
"""

from __future__ import annotations

# Concept tags (the alphabet the rules in parser.py speak).
GOALS = "GOALS"  # the scoring unit: goals, runs, points-scored, tries
SCORED = "SCORED"  # the act of scoring
FOR = "FOR"  # explicitly score_for ("goals for", "attack")
AGAINST = "AGAINST"  # score_against ("conceded", "let in", "defence")
DEFENCE = "DEFENCE"
POINTS = "POINTS"  # standings points
WIN = "WIN"
DRAW = "DRAW"
LOSS = "LOSS"
DIFF = "DIFF"
CLEAN = "CLEAN"
RATE = "RATE"
PERCENT = "PERCENT"  # "what percentage of games have Lions won" = win rate
PLAYED = "PLAYED"
POSITION = "POSITION"
TABLE = "TABLE"
GAME = "GAME"
RESULT = "RESULT"
SCORELINE = "SCORELINE"
TEAM = "TEAM"
WHO = "WHO"
MOST = "MOST"
LEAST = "LEAST"
BEST = "BEST"
WORST = "WORST"
BIG = "BIG"  # biggest / heaviest / widest: margins
SMALL = "SMALL"  # narrowest / closest
TOP = "TOP"
BOTTOM = "BOTTOM"
LEAD = "LEAD"  # "leads", "leader": first in the table unless a metric is named
LAST = "LAST"
NEXT = "NEXT"
HOWMANY = "HOWMANY"
TOTAL = "TOTAL"
AVERAGE = "AVERAGE"
PER = "PER"
EACH = "EACH"
HOME = "HOME"
AWAY = "AWAY"
HIGHSCORING = "HIGHSCORING"
LOWSCORING = "LOWSCORING"
MARGIN = "MARGIN"
H2H = "H2H"
VERSUS = "VERSUS"
BETWEEN = "BETWEEN"
MEET = "MEET"  # play / face / meet
FORM = "FORM"
RECORD = "RECORD"
DOING = "DOING"  # "how have X done", "how are X doing"
HOW = "HOW"
FIXTURE = "FIXTURE"  # fixtures / schedule: listing games
WHEN = "WHEN"
WHERE = "WHERE"
LIST = "LIST"  # show / list / give
ORDER = "ORDER"  # "rank/sort the teams by …": every team, in order
SORT_KEY = "SORT_KEY"  # "by number of": what a ranking is ordered by (not a count)
GOALLESS = "GOALLESS"
DECIDED = "DECIDED"
ROUND = "ROUND"
PER_GAME = "PER_GAME"  # "per game", "a match": averages
PER_TEAM = "PER_TEAM"
ALL_TEAMS = "ALL_TEAMS"  # "every team", "all the clubs": the set a filter or the table ranges over
SINGLE_GAME = "SINGLE_GAME"  # "in a game", "in one match": one game, not an average
PER_ROUND = "PER_ROUND"  # "each round", "by round": group_by round
UNSUPPORTED = "UNSUPPORTED"
SCORER = "SCORER"  # "top scorer": a team's top scorer is a player, which we do not have
NEGATION = "NEGATION"
FILLER = "FILLER"  # understood and deliberately ignored ("this season", "so far")
# Comparisons: before a number ("more than 3") or after it ("3 or more").
GT = "GT"
GE = "GE"
LT = "LT"
LE = "LE"
EQ = "EQ"
GE_AFTER = "GE_AFTER"
LE_AFTER = "LE_AFTER"
UNBEATEN = "UNBEATEN"  # no losses
WINLESS = "WINLESS"  # no wins
YET_TO = "YET_TO"  # "yet to keep a clean sheet": none so far
# "still" on its own: harmless before a bound ("still without a win") or with games to come,
# but "Man Utd still got to face who" asks for games not yet played; elsewhere it is refused.
STILL = "STILL"
NEGATIVE = "NEGATIVE"  # below zero
POSITIVE = "POSITIVE"  # above zero
THAN = "THAN"  # "more goals than Tigers": a comparison with another team
ORDINAL = "ORDINAL"  # second, third, 4th: a place in the table
GAP = "GAP"  # "the gap between", "how far ahead": a difference
OR = "OR"  # "points or goals", "Lions, Tigers or Bears": a choice the plans cannot make
PAIRING = "PAIRING"  # "derby", "showdown": the game of the two named teams
CHOICE = "CHOICE"  # "Lions or Tigers" (two named teams): which of the two, a comparison
AND_ALSO = "AND_ALSO"  # a second condition ("and fewer than 3 losses")
LIVE = "LIVE"  # games in progress: the plans know final and scheduled games only
# A bound that carries its own number: "single digits" = under 10, "double figures" = 10 or more.
SINGLE_DIGITS = "SINGLE_DIGITS"
DOUBLE_FIGURES = "DOUBLE_FIGURES"
# A draw with goals ("score draw"): a result and a bound on the game's goals at once; only a
# count of games holds it (a team's draws are all its draws).
SCORE_DRAW = "SCORE_DRAW"


def _split(text: str) -> list[str]:
    return text.split()


def _expand(table: dict[str, tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    return {tuple(phrase.split()): tags for phrase, tags in table.items()}


# phrase → tags. Keys are space-separated folded words.
_PHRASES: dict[str, tuple[str, ...]] = {
    # scoring unit and its verbs
    "goal": (GOALS,),
    "goals": (GOALS,),
    "runs": (GOALS,),
    "tries": (GOALS,),
    "touchdowns": (GOALS,),
    "baskets": (GOALS,),
    "scored": (SCORED,),
    "score": (SCORED,),
    "scores": (SCORED,),
    "scoring": (SCORED,),
    "scorers": (SCORED, SCORER),
    "scorer": (SCORED, SCORER),
    "netted": (SCORED,),
    "net": (SCORED,),
    "bagged": (SCORED,),
    "hit": (SCORED,),
    "put away": (SCORED,),
    "find the net": (SCORED,),
    "found the net": (SCORED,),
    "put in": (SCORED,),
    "put past": (SCORED,),
    "goals for": (FOR,),
    "goals for and against": (FOR, AGAINST),
    "for and against": (FOR, AGAINST),
    "gf": (FOR,),
    "ga": (AGAINST,),
    "gp": (PLAYED, GAME),
    "pld": (PLAYED, GAME),
    "mp": (PLAYED, GAME),
    "cs": (CLEAN,),
    "goals scored": (FOR,),
    "points scored": (FOR,),
    "runs scored": (FOR,),
    "attack": (FOR,),
    "attacking": (FOR,),
    "offense": (FOR,),
    "offence": (FOR,),
    "offensive": (FOR,),
    "firepower": (FOR,),
    "prolific": (FOR, BEST),
    "goals against": (AGAINST,),
    "points against": (AGAINST,),
    "points allowed": (AGAINST,),
    "goals allowed": (AGAINST,),
    "goals conceded": (AGAINST,),
    "conceded": (AGAINST,),
    "concede": (AGAINST,),
    "concedes": (AGAINST,),
    "conceding": (AGAINST,),
    "let in": (AGAINST,),
    "lets in": (AGAINST,),
    "letting in": (AGAINST,),
    "allowed": (AGAINST,),
    "allow": (AGAINST,),
    "allows": (AGAINST,),
    "shipped": (AGAINST,),
    "leaked": (AGAINST,),
    "given up": (AGAINST,),
    "gave up": (AGAINST,),
    "defence": (DEFENCE,),
    "defense": (DEFENCE,),
    "defensive": (DEFENCE,),
    "defensive record": (DEFENCE,),
    "back line": (DEFENCE,),
    "at the back": (DEFENCE,),
    "backline": (DEFENCE,),
    # These words are about defending on their own ("the stingiest side").
    "tightest": (BEST, DEFENCE),
    "meanest": (BEST, DEFENCE),
    "stingiest": (BEST, DEFENCE),
    "leakiest": (WORST, DEFENCE),
    # standings columns
    "points": (POINTS,),
    "point": (POINTS,),
    "pts": (POINTS,),
    "win": (WIN,),
    "wins": (WIN,),
    "won": (WIN,),
    "winning": (WIN,),
    "victory": (WIN,),
    "victories": (WIN,),
    "beat": (WIN,),
    "beats": (WIN,),
    "beaten": (WIN,),
    "beating": (WIN,),
    # Idioms for beating a team ("got the better of Sharks", "came out on top against Bears").
    "got the better of": (WIN,),
    "get the better of": (WIN,),
    "gets the better of": (WIN,),
    "gotten the better of": (WIN,),
    "getting the better of": (WIN,),
    "came out on top": (WIN,),
    "come out on top": (WIN,),
    "comes out on top": (WIN,),
    "edged past": (WIN,),
    "edged out": (WIN,),
    "overcame": (WIN,),
    "overcome": (WIN,),
    "saw off": (WIN,),
    "seen off": (WIN,),
    "triumphed over": (WIN,),
    "triumph over": (WIN,),
    "prevailed over": (WIN,),
    "prevailed against": (WIN,),
    "draw": (DRAW,),
    "draws": (DRAW,),
    "drew": (DRAW,),
    "drawn": (DRAW,),
    "tie": (DRAW,),
    "ties": (DRAW,),
    "tied": (DRAW,),
    "stalemate": (DRAW,),
    "stalemates": (DRAW,),
    "level": (DRAW,),
    "all square": (DRAW,),
    "even": (DRAW,),
    "shared the points": (DRAW,),
    "split the points": (DRAW,),
    "no winner": (DRAW,),
    "without a winner": (DRAW,),
    "loss": (LOSS,),
    "losses": (LOSS,),
    "lost": (LOSS,),
    "lose": (LOSS,),
    "loses": (LOSS,),
    "losing": (LOSS,),
    "defeat": (LOSS,),
    "defeats": (LOSS,),
    "defeated": (LOSS,),
    "goal difference": (DIFF,),
    "goal diff": (DIFF,),
    "goal differential": (DIFF,),
    "goals difference": (DIFF,),
    "points difference": (DIFF,),
    "point difference": (DIFF,),
    "points differential": (DIFF,),
    "point differential": (DIFF,),
    "run differential": (DIFF,),
    "run difference": (DIFF,),
    "score difference": (DIFF,),
    "scoring difference": (DIFF,),
    "differential": (DIFF,),
    "difference": (GAP,),
    "difference in": (GAP,),
    "gd": (DIFF,),
    "plusminus": (DIFF,),
    "plus minus": (DIFF,),
    "clean sheet": (CLEAN,),
    "clean sheets": (CLEAN,),
    "cleansheets": (CLEAN,),
    "cleansheet": (CLEAN,),
    "shutout": (CLEAN,),
    "shutouts": (CLEAN,),
    "shut out": (CLEAN,),
    "shut outs": (CLEAN,),
    "without conceding": (CLEAN,),
    "not concede": (CLEAN,),
    "not conceded": (CLEAN,),
    "no goals conceded": (CLEAN,),
    "win rate": (RATE,),
    "winning rate": (RATE,),
    "win percentage": (RATE,),
    "winning percentage": (RATE,),
    "win percent": (RATE,),
    "win pct": (RATE,),
    "win ratio": (RATE,),
    "win rates": (RATE,),
    "percentage of wins": (RATE,),
    "percentage of games won": (RATE,),
    "percentage of matches won": (RATE,),
    "percent of games won": (RATE,),
    "percent of their games": (RATE,),
    "success rate": (RATE,),
    "percentage": (PERCENT,),
    "percent": (PERCENT,),
    "proportion": (PERCENT,),
    "share": (PERCENT,),
    "strike rate": (RATE,),
    "played": (PLAYED,),
    "games played": (PLAYED, GAME),
    "matches played": (PLAYED, GAME),
    "appearances": (PLAYED, GAME),
    "position": (POSITION,),
    "place": (POSITION,),
    # "how many places between Lions and Eagles": places in the table, never their games.
    "places": (POSITION,),
    "positions": (POSITION,),
    "placed": (POSITION,),
    "rank": (POSITION, ORDER),
    "ranked": (POSITION, ORDER),
    "ranking": (POSITION, ORDER),
    "order": (ORDER,),
    "ordered": (ORDER,),
    "sort": (ORDER,),
    "sorted": (ORDER,),
    "how high": (POSITION,),
    "how low": (POSITION,),
    "standing": (POSITION,),
    "spot": (POSITION,),
    "sit": (POSITION,),
    "sitting": (POSITION,),
    "stand": (POSITION,),
    "lie": (POSITION,),
    "positioned": (POSITION,),
    "table": (TABLE,),
    "standings": (TABLE,),
    "league table": (TABLE,),
    "points table": (TABLE,),
    "leaderboard": (TABLE,),
    "ladder": (TABLE,),
    "rankings": (TABLE,),
    "classification": (TABLE,),
    "log": (TABLE,),
    "league": (TABLE,),
    "league standings": (TABLE,),
    "group standings": (TABLE,),
    # games
    "game": (GAME,),
    "games": (GAME,),
    "match": (GAME,),
    "matches": (GAME,),
    "contest": (GAME,),
    "contests": (GAME,),
    "meeting": (GAME, MEET),
    "meetings": (GAME, MEET),
    "encounter": (GAME,),
    "encounters": (GAME,),
    "matchup": (GAME,),
    "matchups": (GAME,),
    "clash": (GAME,),
    # One game between the two teams named: "the derby between City and United". Without two
    # teams these say more than "game" (which games are derbies?), so only with two.
    "derby": (PAIRING,),
    "derbies": (PAIRING,),
    "showdown": (PAIRING,),
    "showdowns": (PAIRING,),
    "duel": (PAIRING,),
    "duels": (PAIRING,),
    "clashes": (GAME,),
    "outing": (GAME,),
    "outings": (GAME,),
    "fixture": (GAME, FIXTURE),
    "fixtures": (GAME, FIXTURE),
    "schedule": (FIXTURE,),
    "scheduled": (FIXTURE,),
    "calendar": (FIXTURE,),
    "program": (FIXTURE,),
    "programme": (FIXTURE,),
    "slate": (FIXTURE,),
    "lineup": (FIXTURE,),
    "upcoming": (FIXTURE, NEXT),
    "left": (FIXTURE, NEXT),
    "remaining": (FIXTURE, NEXT),
    "still to play": (FIXTURE, NEXT),
    "still to come": (FIXTURE, NEXT),
    "to be played": (FIXTURE, NEXT),
    "yet to be played": (FIXTURE, NEXT),
    "to come": (FIXTURE, NEXT),
    "future": (FIXTURE, NEXT),
    "coming up": (FIXTURE, NEXT),
    "on today": (FIXTURE,),
    "happening": (FIXTURE,),
    "playing": (FIXTURE, MEET),
    "result": (RESULT,),
    "results": (RESULT,),
    "outcome": (RESULT,),
    "outcomes": (RESULT,),
    "scoreline": (SCORELINE,),
    "scorelines": (SCORELINE,),
    "final score": (SCORELINE,),
    "the score": (SCORELINE,),
    "the scores": (SCORELINE,),
    "the final score": (SCORELINE,),
    "what score": (SCORELINE,),
    "team": (TEAM,),
    "teams": (TEAM,),
    "side": (TEAM,),
    "sides": (TEAM,),
    "club": (TEAM,),
    "clubs": (TEAM,),
    "squad": (TEAM,),
    "squads": (TEAM,),
    "outfit": (TEAM,),
    "outfits": (TEAM,),
    "nation": (TEAM,),
    "nations": (TEAM,),
    "country": (TEAM,),
    "countries": (TEAM,),
    "franchise": (TEAM,),
    "opponent": (TEAM,),
    "opponents": (TEAM,),
    "opposition": (TEAM,),
    "rivals": (TEAM,),
    "who": (WHO,),
    "whom": (WHO,),
    "which": (WHO,),
    "whose": (WHO,),
    # superlatives
    "most": (MOST,),
    "highest": (MOST,),
    "high": (MOST,),
    "higher": (MOST,),
    "highest number of": (MOST,),
    "greatest": (MOST,),
    "greatest number of": (MOST,),
    "more": (MOST,),
    "max": (MOST,),
    "maximum": (MOST,),
    "mostest": (MOST,),
    "lots of": (MOST,),
    "least": (LEAST,),
    "fewest": (LEAST,),
    "fewer": (LEAST,),
    "less": (LEAST,),
    "lowest": (LEAST,),
    "low": (LEAST,),
    "lower": (LEAST,),
    "lowest number of": (LEAST,),
    "min": (LEAST,),
    "minimum": (LEAST,),
    "best": (BEST,),
    "better": (BEST,),
    "strongest": (BEST,),
    "stronger": (BEST,),
    "top": (TOP,),
    "tops": (TOP, LEAD),
    "topping": (TOP, LEAD),
    "first": (TOP,),
    "1st": (TOP,),
    "number one": (TOP,),
    "number 1": (TOP,),
    "numero uno": (TOP,),
    "no 1": (TOP,),
    "summit": (TOP,),
    "pole": (TOP,),
    "leader": (LEAD,),
    "leaders": (LEAD,),
    "leads": (LEAD,),
    "lead": (LEAD,),
    "leading": (LEAD,),
    "is winning": (LEAD,),
    "are winning": (LEAD,),
    "winning the league": (LEAD,),
    "winning the cup": (LEAD,),
    "winning the tournament": (LEAD,),
    "winning the competition": (LEAD,),
    "winning the group": (LEAD,),
    "in the lead": (LEAD,),
    "out in front": (LEAD,),
    "setting the pace": (LEAD,),
    "pace setters": (LEAD,),
    "pacesetters": (LEAD,),
    "in front": (LEAD,),
    "ahead": (LEAD,),
    "worst": (WORST,),
    "worse": (WORST,),
    "weakest": (WORST,),
    "poorest": (WORST,),
    "bottom": (BOTTOM,),
    "rock bottom": (BOTTOM,),
    "dead last": (BOTTOM,),
    "foot of": (BOTTOM,),
    "propping up": (BOTTOM,),
    "prop up": (BOTTOM,),
    "props up": (BOTTOM,),
    "last place": (BOTTOM,),
    "in last": (BOTTOM,),
    "wooden spoon": (BOTTOM,),
    "last": (LAST,),
    "latest": (LAST,),
    "previous": (LAST,),
    "past": (LAST,),
    "most recent": (LAST,),
    "next": (NEXT,),
    "biggest": (BIG,),
    "bigger": (BIG,),
    "big": (BIG,),
    "largest": (BIG,),
    "heaviest": (BIG,),
    "widest": (BIG,),
    "heftiest": (BIG,),
    "most emphatic": (BIG,),
    "most lopsided": (BIG, MARGIN),
    "most one sided": (BIG, MARGIN),
    "one sided": (MARGIN,),
    "lopsided": (MARGIN,),
    "narrowest": (SMALL,),
    "smallest": (SMALL,),
    "closest": (SMALL, MARGIN),
    "tightest margin": (SMALL, MARGIN),
    "margin": (MARGIN,),
    "margins": (MARGIN,),
    "winning margin": (MARGIN,),
    "margin of victory": (MARGIN,),
    "thrashing": (MARGIN, BIG),
    "hammering": (MARGIN, BIG),
    "drubbing": (MARGIN, BIG),
    "rout": (MARGIN, BIG),
    "blowout": (MARGIN, BIG),
    "trouncing": (MARGIN, BIG),
    "mauling": (MARGIN, BIG),
    "highest scoring": (HIGHSCORING, MOST),
    "high scoring": (HIGHSCORING, MOST),
    "highest aggregate": (HIGHSCORING,),
    "goal fest": (HIGHSCORING,),
    "goalfest": (HIGHSCORING,),
    "most goals in a game": (HIGHSCORING,),
    "most goals in a match": (HIGHSCORING,),
    "most goals in a single game": (HIGHSCORING,),
    "most goals in a single match": (HIGHSCORING,),
    "most goals in one game": (HIGHSCORING,),
    "most goals in one match": (HIGHSCORING,),
    "most goals scored in a game": (HIGHSCORING,),
    "most goals scored in a match": (HIGHSCORING,),
    "most goals scored in a single game": (HIGHSCORING,),
    "most goals scored in a single match": (HIGHSCORING,),
    "most goals scored in one game": (HIGHSCORING,),
    "lowest scoring": (LOWSCORING, LEAST),
    "low scoring": (LOWSCORING, LEAST),
    "fewest goals in a game": (LOWSCORING,),
    "fewest goals in a match": (LOWSCORING,),
    "least goals in a game": (LOWSCORING,),
    "least goals in a match": (LOWSCORING,),
    "fewest goals in a single game": (LOWSCORING,),
    "fewest goals in one game": (LOWSCORING,),
    # question shapes
    "how many": (HOWMANY,),
    "how much": (HOWMANY,),
    # "How often do home teams win": the share, with the counts behind it.
    "how often": (HOWMANY, PERCENT),
    "how many times": (HOWMANY,),
    "number of": (HOWMANY,),
    # A sort key, not a count: "top 5 teams by number of wins" ranks by wins.
    "by number of": (SORT_KEY,),
    "by the number of": (SORT_KEY,),
    "by total number of": (SORT_KEY,),
    "by the total number of": (SORT_KEY,),
    "on number of": (SORT_KEY,),
    "count": (HOWMANY,),
    "count of": (HOWMANY,),
    "tally": (HOWMANY,),
    "tally of": (HOWMANY,),
    "total": (TOTAL,),
    "totals": (TOTAL,),
    "in total": (TOTAL,),
    "altogether": (TOTAL,),
    "all together": (TOTAL,),
    "combined": (TOTAL,),
    "in all": (TOTAL,),
    "sum": (TOTAL,),
    "sum of": (TOTAL,),
    "overall": (TOTAL,),
    "all told": (TOTAL,),
    "aggregate": (TOTAL,),
    "average": (AVERAGE,),
    "averages": (AVERAGE,),
    "averaged": (AVERAGE,),
    "averaging": (AVERAGE,),
    "avg": (AVERAGE,),
    "mean": (AVERAGE,),
    "on average": (AVERAGE,),
    "rate": (AVERAGE,),
    "per": (PER,),
    "each": (EACH,),
    "every": (EACH,),
    "per game": (PER_GAME,),
    "per match": (PER_GAME,),
    "per fixture": (PER_GAME,),
    "per outing": (PER_GAME,),
    "per contest": (PER_GAME,),
    "per game played": (PER_GAME,),
    "per match played": (PER_GAME,),
    "per appearance": (PER_GAME,),
    "a game": (PER_GAME,),
    "a match": (PER_GAME,),
    "each game": (PER_GAME,),
    "each match": (PER_GAME,),
    "every game": (PER_GAME,),
    "every match": (PER_GAME,),
    "in each game": (PER_GAME,),
    "in each match": (PER_GAME,),
    "in every game": (PER_GAME,),
    "in a game": (SINGLE_GAME,),
    "in a match": (SINGLE_GAME,),
    "in a single game": (SINGLE_GAME,),
    "in a single match": (SINGLE_GAME,),
    "in one game": (SINGLE_GAME,),
    "in one match": (SINGLE_GAME,),
    "in any game": (SINGLE_GAME,),
    "in any match": (SINGLE_GAME,),
    "in any one game": (SINGLE_GAME,),
    "in a fixture": (SINGLE_GAME,),
    "per team": (PER_TEAM,),
    "per side": (PER_TEAM,),
    "per club": (PER_TEAM,),
    "per squad": (PER_TEAM,),
    "each team": (PER_TEAM, ALL_TEAMS),
    "every team": (PER_TEAM, ALL_TEAMS),
    "each side": (PER_TEAM, ALL_TEAMS),
    "every side": (PER_TEAM, ALL_TEAMS),
    "each club": (PER_TEAM, ALL_TEAMS),
    "every club": (PER_TEAM, ALL_TEAMS),
    # A set named whole ("all the teams with …"): still teams, and a quantifier over them.
    "all teams": (TEAM, ALL_TEAMS),
    "all the teams": (TEAM, ALL_TEAMS),
    "all sides": (TEAM, ALL_TEAMS),
    "all the sides": (TEAM, ALL_TEAMS),
    "all clubs": (TEAM, ALL_TEAMS),
    "all the clubs": (TEAM, ALL_TEAMS),
    "everyone": (ALL_TEAMS,),
    "everybody": (ALL_TEAMS,),
    # "Anyone still without a win?": asks which teams, like "who".
    "anyone": (WHO,),
    "anybody": (WHO,),
    "a team": (PER_TEAM,),
    "by a team": (TEAM,),
    "by a side": (TEAM,),
    "by any team": (TEAM,),
    "by one team": (TEAM,),
    "by a club": (TEAM,),
    "a side": (PER_TEAM,),
    "by each team": (PER_TEAM,),
    "by team": (PER_TEAM,),
    "per round": (PER_ROUND,),
    "each round": (PER_ROUND,),
    "every round": (PER_ROUND,),
    "by round": (PER_ROUND,),
    "round by round": (PER_ROUND,),
    "in each round": (PER_ROUND,),
    "in every round": (PER_ROUND,),
    "for each round": (PER_ROUND,),
    "for every round": (PER_ROUND,),
    "per matchday": (PER_ROUND,),
    "each matchday": (PER_ROUND,),
    "by matchday": (PER_ROUND,),
    "per gameweek": (PER_ROUND,),
    "each gameweek": (PER_ROUND,),
    "per week": (PER_ROUND,),
    "each week": (PER_ROUND,),
    "broken down by round": (PER_ROUND,),
    "split by round": (PER_ROUND,),
    "grouped by round": (PER_ROUND,),
    "group by round": (PER_ROUND,),
    "home": (HOME,),
    "at home": (HOME,),
    "hosts": (HOME, TEAM),
    "host": (HOME, TEAM),
    "home side": (HOME, TEAM),
    "home team": (HOME, TEAM),
    "home teams": (HOME, TEAM),
    "home sides": (HOME, TEAM),
    "away": (AWAY,),
    "on the road": (AWAY,),
    "away from home": (AWAY,),
    "on their travels": (AWAY,),
    "road": (AWAY,),
    "visitors": (AWAY, TEAM),
    "visiting team": (AWAY, TEAM),
    "visiting side": (AWAY, TEAM),
    "visiting teams": (AWAY, TEAM),
    "away side": (AWAY, TEAM),
    "away team": (AWAY, TEAM),
    "away teams": (AWAY, TEAM),
    "away sides": (AWAY, TEAM),
    "head to head": (H2H,),
    "h2h": (H2H,),
    "head 2 head": (H2H,),
    "vs": (VERSUS,),
    "v": (VERSUS,),
    "versus": (VERSUS,),
    "against": (VERSUS,),
    "between": (BETWEEN,),
    "play": (MEET,),
    "plays": (MEET,),
    "meet": (MEET,),
    "meets": (MEET,),
    "met": (MEET,),
    "face": (MEET,),
    "faces": (MEET,),
    "faced": (MEET,),
    "facing": (MEET,),
    "take on": (MEET,),
    "took on": (MEET,),
    "takes on": (MEET,),
    "form": (FORM,),
    "form guide": (FORM,),
    "recent form": (FORM,),
    "current form": (FORM,),
    "recent results": (FORM,),
    "recent games": (FORM,),
    "recent matches": (FORM,),
    "recently": (FORM,),
    "lately": (FORM,),
    "of late": (FORM,),
    "streak": (FORM,),
    "run of form": (FORM,),
    "current run": (FORM,),
    "momentum": (FORM,),
    "record": (RECORD,),
    "records": (RECORD,),
    "stats": (RECORD,),
    "statistics": (RECORD,),
    "numbers": (RECORD,),
    "summary": (RECORD,),
    "overview": (RECORD,),
    "w d l": (RECORD,),
    "wdl": (RECORD,),
    "win loss": (RECORD,),
    "win draw loss": (RECORD,),
    "wins draws losses": (RECORD,),
    "wins draws and losses": (RECORD,),
    "season record": (RECORD,),
    "performance": (RECORD, DOING),
    "performances": (RECORD, DOING),
    "campaign": (RECORD,),
    "done": (DOING,),
    "doing": (DOING,),
    "fared": (DOING,),
    "fare": (DOING,),
    "fares": (DOING,),
    "faring": (DOING,),
    "performed": (DOING,),
    "performing": (DOING,),
    "getting on": (DOING,),
    "gotten on": (DOING,),
    "got on": (DOING,),
    "how": (HOW,),
    "when": (WHEN,),
    "what time": (WHEN,),
    "what date": (WHEN,),
    "which day": (WHEN,),
    "what day": (WHEN,),
    "where": (WHERE,),
    "show": (LIST,),
    "list": (LIST,),
    "display": (LIST,),
    "give": (LIST,),
    "see": (LIST,),
    "view": (LIST,),
    "goalless": (GOALLESS,),
    "scoreless": (GOALLESS,),
    "nil nil": (GOALLESS,),
    "0 0": (GOALLESS,),
    "0-0": (GOALLESS,),
    "0:0": (GOALLESS,),
    "nil all": (GOALLESS,),
    "nil nils": (GOALLESS,),
    "score draw": (SCORE_DRAW,),
    "score draws": (SCORE_DRAW,),
    "scoring draw": (SCORE_DRAW,),
    "scoring draws": (SCORE_DRAW,),
    "nil alls": (GOALLESS,),
    "no goals": (GOALLESS,),
    "without goals": (GOALLESS,),
    "with no goals": (GOALLESS,),
    "without a goal": (GOALLESS,),
    "without any goals": (GOALLESS,),
    "goal less": (GOALLESS,),
    "decided": (DECIDED,),
    "decisive": (DECIDED,),
    "had a winner": (DECIDED,),
    "a winner": (DECIDED,),
    "a winning team": (DECIDED,),
    "produced a winner": (DECIDED,),
    "not drawn": (DECIDED,),
    "not a draw": (DECIDED,),
    "not end in a draw": (DECIDED,),
    "not end level": (DECIDED,),
    "not finish level": (DECIDED,),
    "not end in a tie": (DECIDED,),
    "round": (ROUND,),
    "rounds": (ROUND,),
    "matchday": (ROUND,),
    "matchdays": (ROUND,),
    "match day": (ROUND,),
    "gameweek": (ROUND,),
    "game week": (ROUND,),
    "week": (ROUND,),
    "matchweek": (ROUND,),
    "not": (NEGATION,),
    "no": (NEGATION,),
    "never": (NEGATION,),
    "without": (NEGATION,),
    # comparisons
    "more than": (GT,),
    "bigger than": (GT, BIG),
    "larger than": (GT, BIG),
    "smaller than": (LT, SMALL),
    "single digit": (SINGLE_DIGITS,),
    "single digits": (SINGLE_DIGITS,),
    "single figure": (SINGLE_DIGITS,),
    "single figures": (SINGLE_DIGITS,),
    "double figure": (DOUBLE_FIGURES,),
    "double figures": (DOUBLE_FIGURES,),
    "double digit": (DOUBLE_FIGURES,),
    "double digits": (DOUBLE_FIGURES,),
    "greater than": (GT,),
    "higher than": (GT,),
    "over": (GT,),
    "above": (GT,),
    "in excess of": (GT,),
    "at least": (GE,),
    "no fewer than": (GE,),
    "no less than": (GE,),
    "fewer than": (LT,),
    "less than": (LT,),
    "lower than": (LT,),
    "under": (LT,),
    "below": (LT,),
    "at most": (LE,),
    "no more than": (LE,),
    "up to": (LE,),
    "exactly": (EQ,),
    "precisely": (EQ,),
    "or more": (GE_AFTER,),
    "or over": (GE_AFTER,),
    "or above": (GE_AFTER,),
    "or higher": (GE_AFTER,),
    "or better": (GE_AFTER,),
    "plus": (GE_AFTER,),
    "or fewer": (LE_AFTER,),
    "or less": (LE_AFTER,),
    "or under": (LE_AFTER,),
    "or below": (LE_AFTER,),
    "or lower": (LE_AFTER,),
    "than": (THAN,),
    "unbeaten": (UNBEATEN,),
    "undefeated": (UNBEATEN,),
    "still unbeaten": (UNBEATEN,),
    "without a defeat": (UNBEATEN,),
    "without defeat": (UNBEATEN,),
    "without losing": (UNBEATEN,),
    "without a loss": (UNBEATEN,),
    "yet to lose": (UNBEATEN,),
    "not lost": (UNBEATEN,),
    "never lost": (UNBEATEN,),
    "winless": (WINLESS,),
    "without a win": (WINLESS,),
    "without winning": (WINLESS,),
    "without a victory": (WINLESS,),
    "yet to win": (WINLESS,),
    "not won": (WINLESS,),
    "never won": (WINLESS,),
    "no wins": (WINLESS,),
    "yet to": (YET_TO,),
    "still": (STILL,),
    "yet to play": (FIXTURE, NEXT),
    "yet to face": (FIXTURE, NEXT),
    "still to face": (FIXTURE, NEXT),
    "left to play": (FIXTURE, NEXT),
    "fraction": (PERCENT,),
    "negative": (NEGATIVE,),
    "positive": (POSITIVE,),
    "gap": (GAP,),
    "gaps": (GAP,),
    "separates": (GAP,),
    "separate": (GAP,),
    "separating": (GAP,),
    "apart": (GAP,),
    "behind": (GAP,),
    "ahead of": (GAP,),
    "in front of": (GAP,),
    "clear of": (GAP,),
    "how far": (GAP,),
    "or": (OR,),
    "either": (OR,),
    "live": (LIVE,),
    "in play": (LIVE,),
    "ongoing": (LIVE,),
    "in progress": (LIVE,),
    "right now playing": (LIVE,),
    # things we do not have: answer "cannot", never guess
    "player": (UNSUPPORTED,),
    "players": (UNSUPPORTED,),
    "top scorer player": (UNSUPPORTED,),
    "goalscorer": (UNSUPPORTED,),
    "goalscorers": (UNSUPPORTED,),
    "striker": (UNSUPPORTED,),
    "strikers": (UNSUPPORTED,),
    "goalkeeper": (UNSUPPORTED,),
    "goalie": (UNSUPPORTED,),
    "assist": (UNSUPPORTED,),
    "assists": (UNSUPPORTED,),
    "card": (UNSUPPORTED,),
    "cards": (UNSUPPORTED,),
    "yellow": (UNSUPPORTED,),
    "red card": (UNSUPPORTED,),
    "red cards": (UNSUPPORTED,),
    "booking": (UNSUPPORTED,),
    "bookings": (UNSUPPORTED,),
    "penalty": (UNSUPPORTED,),
    "penalties": (UNSUPPORTED,),
    "weather": (UNSUPPORTED,),
    "rain": (UNSUPPORTED,),
    "referee": (UNSUPPORTED,),
    "referees": (UNSUPPORTED,),
    "attendance": (UNSUPPORTED,),
    "crowd": (UNSUPPORTED,),
    "spectators": (UNSUPPORTED,),
    "ticket": (UNSUPPORTED,),
    "tickets": (UNSUPPORTED,),
    "injury": (UNSUPPORTED,),
    "injuries": (UNSUPPORTED,),
    "injured": (UNSUPPORTED,),
    "coach": (UNSUPPORTED,),
    "coaches": (UNSUPPORTED,),
    "manager": (UNSUPPORTED,),
    "managers": (UNSUPPORTED,),
    "captain": (UNSUPPORTED,),
    "mvp": (UNSUPPORTED,),
    "man of the match": (UNSUPPORTED,),
    "transfer": (UNSUPPORTED,),
    "transfers": (UNSUPPORTED,),
    "salary": (UNSUPPORTED,),
    "odds": (UNSUPPORTED,),
    "bet": (UNSUPPORTED,),
    "betting": (UNSUPPORTED,),
    "predict": (UNSUPPORTED,),
    "prediction": (UNSUPPORTED,),
    "will win": (UNSUPPORTED,),
    "going to win": (UNSUPPORTED,),
    "gonna win": (UNSUPPORTED,),
    "chance": (UNSUPPORTED,),
    "chances": (UNSUPPORTED,),
    "possession": (UNSUPPORTED,),
    "shots": (UNSUPPORTED,),
    "corners": (UNSUPPORTED,),
    "fouls": (UNSUPPORTED,),
    "offsides": (UNSUPPORTED,),
    "hat trick": (UNSUPPORTED,),
    "hattrick": (UNSUPPORTED,),
    "own goal": (UNSUPPORTED,),
    "own goals": (UNSUPPORTED,),
    "half time": (UNSUPPORTED,),
    "halftime": (UNSUPPORTED,),
    "first half": (UNSUPPORTED,),
    "second half": (UNSUPPORTED,),
    "minute": (UNSUPPORTED,),
    "minutes": (UNSUPPORTED,),
    "stadium": (UNSUPPORTED,),
    "salaries": (UNSUPPORTED,),
    "sql": (UNSUPPORTED,),
    # Another season: only this event's games are known ("last" would read as a ranking).
    "last season": (UNSUPPORTED,),
    "last year": (UNSUPPORTED,),
    "last years": (UNSUPPORTED,),
    "previous season": (UNSUPPORTED,),
    "past season": (UNSUPPORTED,),
    "last campaign": (UNSUPPORTED,),
    "last term": (UNSUPPORTED,),
    "a year ago": (UNSUPPORTED,),
    "next season": (UNSUPPORTED,),
    "next year": (UNSUPPORTED,),
    # Statements, not questions ("'; DROP TABLE games; --" must not read as "table").
    "drop": (UNSUPPORTED,),
    "delete": (UNSUPPORTED,),
    "insert": (UNSUPPORTED,),
    "truncate": (UNSUPPORTED,),
    "alter": (UNSUPPORTED,),
    "password": (UNSUPPORTED,),
    "passwords": (UNSUPPORTED,),
    "email": (UNSUPPORTED,),
    "user": (UNSUPPORTED,),
    "users": (UNSUPPORTED,),
    # understood and ignored
    "this season": (FILLER,),
    "so far": (FILLER,),
    "thus far": (FILLER,),
    "to date": (FILLER,),
    "currently": (FILLER,),
    "current": (FILLER,),
    "right now": (FILLER,),
    "at the moment": (FILLER,),
    "at present": (FILLER,),
    "presently": (FILLER,),
    "now": (FILLER,),
    "season": (FILLER,),
    "tournament": (FILLER,),
    "competition": (FILLER,),
    "event": (FILLER,),
    "cup": (FILLER,),
    "championship": (FILLER,),
    "please": (FILLER,),
    "match report": (FILLER,),
    "across the league": (FILLER,),
    "across the whole league": (FILLER,),
    "league wide": (FILLER,),
    "leaguewide": (FILLER,),
    "across all games": (FILLER,),
    "across all matches": (FILLER,),
    "over the years": (FILLER,),
    "over the season": (FILLER,),
    "over the course of the season": (FILLER,),
    "for my report": (FILLER,),
}

# Games to come said with a modal ("who do Lions still have to play", "Man Utd still got to
# face who", "have yet to meet"): the same as "still to play".
_PHRASES.update(
    {
        f"{adverb} {modal} to {verb}": (FIXTURE, NEXT)
        for adverb in ("still", "yet")
        for modal in ("have", "has", "got", "need", "needs", "have got", "has got")
        for verb in ("play", "face", "meet")
    }
)
_PHRASES.update({f"{adverb} to meet": (FIXTURE, NEXT) for adverb in ("still", "yet")})

PHRASES: dict[tuple[str, ...], tuple[str, ...]] = _expand(_PHRASES)
MAX_PHRASE = max(len(phrase) for phrase in PHRASES)

CARDINALS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        _split(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        )
    )
}
CARDINALS.update({"thirty": 30, "forty": 40, "fifty": 50, "a couple": 2, "couple": 2})
CARDINALS.update({"once": 1, "twice": 2})
ORDINALS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        _split(
            "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
            "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
            "nineteenth twentieth"
        )
    )
    if value
}

# Words that carry no meaning for the rules but are ordinary English: never team names
# (so never fuzzy-matched to one) and never "unknown" (so never taken for a missing team).
STOPWORDS = frozenset(
    _split(
        """
    a an the of in on at for to from by with and or but if then than as is are was were be been
    being am has have had having do does did doing done will would shall should can could may
    might must i me my we us our you your he him his she her it its they them their theirs this
    that these those there here what which who whom whose when where why how all any both each
    few more most other some such no nor not only own same so too very just about above after
    again against before below between during into out over under up down off once until while
    get gets got getting give tell show list find me know want wanna need like please thanks
    thank hi hello hey ok okay yes yeah one ones anyone anybody someone somebody everyone team
    teams side sides far season this current currently now still yet ever overall total also
    even many much number times time did end ended ending finish finished finishing come came
    make made making go going went gone kept keep keeps keeping record whole entire far amount
    date day days today tonight yesterday tomorrow week weeks month year years so-far league
    competition tournament event cup championship games game match matches fixture fixtures
    result results score scores scored table standings points goals wins draws losses again
    compared compare comparison versus vs each every per across throughout during since list
    let lets see look looking looks seem seems says said say would could should currently
    actually really exactly roughly approximately about around than then there theres whats
    which whos hows whats biggest smallest largest highest lowest best worst most least
    fewest top bottom first last next previous recent recently latest place position spot
    table group groups pool round rounds stage phase part half play plays played playing
    meet met face faced against between both either neither other another winner winners
    loser losers won lost drew beat beaten home away hosts visitors put total totals sum
    stand stands standing sit sits sitting lie lies placed ranked rank ranking rankings
    opponent opponents rival rivals fans fan people person guys guy clubs club squad squads
    much lot lots plenty several couple pair name names called named call tally count
    counted average averages mean typical typically usually normally generally often
    difference diff margin margins clean sheet sheets shutouts rate ratio percentage percent
    form streak run runs doing done fared performed getting got been had has have having
    question answer info information details detail data stats statistics summary overview
    who what when where why which how whose whom does do did is are was were am be being
    """
    )
)

# Extra everyday words seen in questions: known, so never read as an unknown team name.
COMMON_WORDS = frozenset(
    _split(
        """
    season's seasons year's standings' ended up ending went off on over under out level
    tied finished finishing close closest tight tightest narrow narrowest heavy heavier heaviest
    big bigger large larger small smaller wide widest high higher low lower great greatest
    good better bad badly worse poor poorer poorest strong stronger strongest weak weaker
    weakest real really true false right wrong full complete final finals semi quarter
    sort sorted order ordered rank by descending ascending list listing ranked top bottom
    scoring conceding conceded concede allowed allow let lets letting shipped leaked kept
    keep clean sheet sheets shut shutout shutouts defence defense defensive attack attacking
    offense offence offensive prolific firepower scorer scorers scoring net netted bagged hit
    victory victories defeat defeats defeated loss losses lose loses losing win wins winning
    draw draws drawn drew tie ties stalemate square all many much number amount figure figures
    so far thus date yet still anymore already just exactly currently recent recently lately
    matchday matchdays gameweek week weekend weekday morning afternoon evening night tonight
    schedule scheduled calendar program programme upcoming coming happening happen happened
    happens kick kicked kicks kickoff start starts started starting begin begins finish
    finishes time
    times timing o'clock clock am pm latest earliest early late later soon since until till
    show shows display see view print give tell list find search look lookup return get
    fetch bring pull what's whats who's whos how's where's when's which's i'd i'm you're
    they're they've we've i've it's that's there's here's let's can't won't don't doesn't
    didn't isn't aren't wasn't weren't haven't hasn't hadn't
    mate buddy pal sir madam folks everybody everyone somebody anyone someone nobody
    interested curious wondering wonder wondered ask asking asked question questions
    goal goals point points run runs try tries basket baskets touchdown touchdowns pts
    game games match matches fixture fixtures contest contests meeting meetings encounter
    encounters matchup matchups clash clashes outing outings tie result results outcome
    outcomes scoreline scorelines team teams side sides club clubs squad squads outfit outfits
    nation nations country countries franchise group groups pool pools division divisions
    conference conferences table tables standings ladder leaderboard log classification
    ranking rankings position positions place places spot spots standing rank ranks
    difference differential diff gd plusminus plus minus margin margins rate ratio rates
    percent percentage percentages pct average averages avg mean median typical per each
    every total totals sum overall altogether combined aggregate tally count counts home
    homes away road travels visitors visiting hosts host hosting head heads h2h vs versus v
    against between meet meets met meeting face faces faced facing play plays played
    playing take took takes taking form guide momentum record records stats statistics
    numbers summary overview performance performances campaign season seasons year years
    fared faring performed performing doing done how when where why who which what
    whom whose goalless scoreless nil zero none decided decisive winner winners loser losers
    round rounds first second third fourth fifth sixth seventh eighth ninth tenth last next
    previous past most least fewest fewer less more best worst highest lowest biggest
    smallest largest greatest maximum minimum max min leader leaders lead leads leading
    front ahead behind bottom summit pole top tops topping rock dead foot wooden spoon
    spot emphatic lopsided sided thrashing hammering drubbing rout blowout trouncing
    mauling fest goalfest aggregate league leagues cup cups competition competitions
    tournament tournaments event events championship championships series trophy title
    titles currently present presently moment right now today yesterday tomorrow tonight
    recent ago days day weeks month months monday tuesday wednesday thursday friday
    saturday sunday mon tue tues wed thu thur thurs fri sat sun january february march april
    may june july august september october november december jan feb mar apr jun jul aug
    sep sept oct nov dec scored score scores conceded concedes ended end ends finished
    went go goes going gone did do does doing was were is are be been being has have had
    having can could would should will shall might may must need needs want wants like
    likes please thanks thank cheers yo hi hey hello ok okay yes no yeah nope
    times often frequently usually ever never always sometimes between among amongst
    both either neither nor also too as such same other another different else
    hold holds held holding keep keeps kept keeping manage manages managed managing
    rack racked pick picked picking collect collected collecting earn earned earning
    gain gained gaining amass amassed accumulate accumulated register registered
    record recorded rack achieve achieved secure secured grab grabbed got get gets
    with without within into onto upon from to of in on at by for about around
    through throughout across during before after since per via the a an and or but
    if then than that this these those there here it its they them their theirs he she
    him her his hers we us our ours you your yours i me my mine myself themselves
    single one two three four five six seven eight nine ten only just even still
    each respective respectively individual individually apiece
    unbeaten undefeated winless perfect streaks unbeatable invincible
    gimme lemme pls plz thx ty u ur r ya yall kinda sorta um umm uh hmm btw quick quickly
    suffer suffers suffered suffering endure endures endured notch notches notched post posts
    posted clock clocked log logged chalk chalked produce produces produced producing yield
    yields yielded saw feature features featured featuring
    report organiser organizer organisers organizers article blog newsletter writing
    dear remind summarise summarize compare explain describe calculate compute work figure
    whats whos hows wheres whens wot wat wht happened happening ago recap update updates
    """
    )
)


def known_words() -> frozenset[str]:
    """Every word the parser treats as ordinary language, never as a team name."""
    phrase_words = {word for phrase in PHRASES for word in phrase}
    return frozenset(phrase_words | STOPWORDS | COMMON_WORDS | CARDINALS.keys() | ORDINALS.keys())


KNOWN_WORDS = known_words()

# Known words with no concept tag that still change what a question asks: a plan must use them
# or the question is refused (see language/coverage.py). Ordinals are places in the table,
# weekdays and times are dates the reader did not lift, "only"/"except" narrow a set.
CONTENT_WORDS = frozenset(
    {
        *_split(
            """
    only except excluding but unless nor neither other another else different same
    half since after before until till ago yesterday tomorrow tonight weekend weekday
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs
    fri sat sun morning afternoon evening night early late earliest final finals semi quarter
    title titles
    trophy series perfect streaks unbeatable invincible typical typically usually normally
    generally median always sometimes frequently respective respectively individual
    individually apiece true false wrong good bad badly poor poorer strong weak weaker
    close tight narrow heavy heavier large larger small smaller wide great
    second third fourth fifth sixth seventh eighth ninth tenth minute minutes
    both once twice month months weeks later soon
    single
    """
        ),
        *ORDINALS,
    }
) - {"first"}

# The allow-list of words a question may carry without a plan using them: articles,
# pronouns, auxiliaries, politeness, verbs of asking ("show", "tell"), and ordinary verbs that
# only carry a concept already tagged elsewhere ("kept" in "kept clean sheets").
IGNORABLE = (
    (STOPWORDS | COMMON_WORDS)
    - CONTENT_WORDS
    - set(CARDINALS)
    - {word for phrase in PHRASES for word in phrase if len(phrase) == 1}
)
