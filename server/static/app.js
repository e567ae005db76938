// Matchday spectator pages: the list of public events, and one event's standings and games.
//
// Loaded as a file (the Content-Security-Policy allows no inline script). Data from the API
// reaches the page only through textContent and attributes set one by one — never innerHTML.
//
// Live updates: the event page opens an EventSource on /api/v1/events/{id}/stream and
// applies `score`, `game`, `correction` and `standings` messages as they come. Until the
// stream is open (or where it is unavailable) the page polls the API every 5 seconds.
//
// No state waits forever: every request gives up after FETCH_TIMEOUT_MS, and a page that
// could not load says so and tries again every POLL_MS (docs/pages.md lists the states).
(function () {
  "use strict";

  var POLL_MS = 5000;
  var FETCH_TIMEOUT_MS = 10000;
  var FLASH_MS = 4000; // how long a changed score stays highlighted
  var PAGE_SIZE = 200; // the API's largest page
  var MAX_PAGES = 50;
  var STATUS_LABELS = {
    scheduled: "Scheduled", live: "Live", final: "Final", cancelled: "Cancelled", postponed: "Postponed"
  };

  // --- DOM helpers ------------------------------------------------------------------------

  function byId(id) {
    return document.getElementById(id);
  }

  // el("a", {href: "/x", className: "y", text: "label"}, [child, "text", null])
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else node.setAttribute(key, String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function setStatus(message) {
    var status = byId("status");
    if (!status) return;
    status.textContent = message || "";
    status.hidden = !message;
  }

  // --- API --------------------------------------------------------------------------------

  function ApiError(status, message, code) {
    this.name = "ApiError";
    this.status = status;
    this.code = code || "";
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  // fetch() and the JSON body, or an ApiError carrying the contract's error (and its details).
  async function requestJSON(path, options) {
    var response;
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, FETCH_TIMEOUT_MS);
    try {
      response = await fetch(path, Object.assign({ signal: controller.signal }, options));
    } catch (err) {
      throw new ApiError(0, "the server cannot be reached");
    } finally {
      window.clearTimeout(timer);
    }
    var body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      var error = (body && body.error) || {};
      var failure = new ApiError(response.status, error.message || response.statusText, error.code);
      failure.details = error.details || {};
      throw failure;
    }
    return body;
  }

  function getJSON(path) {
    // "no-cache": revalidate with the ETag every time (a cheap 304), never show stale data.
    return requestJSON(path, { headers: { Accept: "application/json" }, cache: "no-cache" });
  }

  function postJSON(path, payload) {
    return requestJSON(path, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  // Every item of a list endpoint, page by page.
  async function getAll(path) {
    var items = [];
    var separator = path.indexOf("?") === -1 ? "?" : "&";
    for (var page = 1; page <= MAX_PAGES; page += 1) {
      var body = await getJSON(path + separator + "page=" + page + "&per_page=" + PAGE_SIZE);
      items = items.concat(body.items);
      if (body.items.length === 0 || items.length >= body.total) break;
    }
    return items;
  }

  // --- formatting -------------------------------------------------------------------------

  function formatDate(isoDate) {
    if (!isoDate) return "";
    var date = new Date(isoDate + "T00:00:00Z");
    if (isNaN(date.getTime())) return isoDate;
    return date.toLocaleDateString(undefined, {
      timeZone: "UTC", year: "numeric", month: "short", day: "numeric",
    });
  }

  function formatDateRange(start, end) {
    if (start && end && start !== end) return formatDate(start) + " – " + formatDate(end);
    return formatDate(start || end);
  }

  function formatDateTime(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    return date.toLocaleString(undefined, {
      weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function signed(number) {
    return number > 0 ? "+" + number : String(number);
  }

  function joinParts(parts) {
    return parts.filter(Boolean).join(" · ");
  }

  function clockTime(date) {
    return date.toLocaleTimeString(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  // A short message for screen readers (the page's polite live region); score changes only.
  function announce(message) {
    var region = byId("announcer");
    if (!region) return;
    region.textContent = "";
    // A fresh text node after an empty one is announced even when the text repeats.
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function eventPath(id) {
    return "/events/" + encodeURIComponent(String(id));
  }

  // --- the list of events -----------------------------------------------------------------

  function eventCard(event) {
    var meta = joinParts([
      event.sport,
      formatDateRange(event.starts_on, event.ends_on),
      event.visibility === "private" ? "private" : "",
    ]);
    return el("li", { className: "card" }, [
      el("h2", {}, [el("a", { href: eventPath(event.id), text: event.name })]),
      meta ? el("p", { className: "meta", text: meta }) : null,
    ]);
  }

  function eventsPage() {
    var list = byId("events");
    var more = byId("more");
    var page = 1;
    var shown = 0;

    async function loadMore() {
      more.disabled = true;
      try {
        var body = await getJSON("/api/v1/events?page=" + page + "&per_page=50");
        body.items.forEach(function (event) {
          list.appendChild(eventCard(event));
        });
        shown += body.items.length;
        page += 1;
        more.hidden = body.items.length === 0 || shown >= body.total;
        setStatus(body.total === 0 ? "No public events yet." : "");
      } catch (err) {
        if (err.status === 0 && shown === 0) {
          setStatus("Could not load the events: " + err.message + ". Trying again in " +
            POLL_MS / 1000 + " s.");
          window.setTimeout(loadMore, POLL_MS);
        } else {
          setStatus("Could not load the events: " + err.message);
        }
      } finally {
        more.disabled = false;
      }
    }

    more.addEventListener("click", loadMore);
    loadMore();
  }

  // --- one event --------------------------------------------------------------------------

  // How a row's `decided_by.rule` reads in a sentence.
  var RULE_WORDS = {
    points: "points", score_diff: "score difference", score_for: "scored", wins: "wins",
    head_to_head: "head to head", fewest_score_against: "fewest conceded",
  };

  // Why a row sits above the next one, as a sentence; null for a group's last row (or a
  // table stored before the API said why).
  function whyText(row, nameOf) {
    var why = row.decided_by;
    if (!why) return null;
    var others = why.over.map(nameOf).join(", ");
    if (why.rule === "tied") return "Shares rank " + row.rank + " with " + others + ": " + why.detail;
    return "Above " + others + " on " + (RULE_WORDS[why.rule] || why.rule) + ": " + why.detail;
  }

  // The rank cell: a button whose title explains on hover, and whose press (tap, Enter)
  // shows the same sentence in the line below the table (a disclosure, aria-expanded).
  function rankCell(row, nameOf, lineId) {
    var sentence = whyText(row, nameOf);
    if (!sentence) return el("td", { className: "num rank", text: row.rank });
    var button = el("button", {
      type: "button", className: "why", title: sentence, text: row.rank,
      "aria-expanded": "false", "aria-controls": lineId, "data-team-id": row.team_id,
    });
    return el("td", { className: "num rank" }, [button]);
  }

  function standingsTable(rows, caption, nameOf, lineId) {
    var head = el("tr", {}, [
      el("th", { scope: "col", className: "num", text: "#" }),
      el("th", { scope: "col", className: "team", text: "Team" }),
      el("th", { scope: "col", className: "num" }, [el("abbr", { title: "Played", text: "P" })]),
      el("th", { scope: "col", className: "num" }, [el("abbr", { title: "Won", text: "W" })]),
      el("th", { scope: "col", className: "num" }, [el("abbr", { title: "Drawn", text: "D" })]),
      el("th", { scope: "col", className: "num" }, [el("abbr", { title: "Lost", text: "L" })]),
      el("th", { scope: "col", className: "num wide" }, [el("abbr", { title: "Scored", text: "F" })]),
      el("th", { scope: "col", className: "num wide" }, [el("abbr", { title: "Conceded", text: "A" })]),
      el("th", { scope: "col", className: "num" }, [el("abbr", { title: "Difference", text: "+/−" })]),
      el("th", { scope: "col", className: "num pts" }, [el("abbr", { title: "Points", text: "Pts" })]),
    ]);
    var body = el("tbody", {}, rows.map(function (row) {
      return el("tr", {}, [
        rankCell(row, nameOf, lineId),
        el("th", { scope: "row", className: "team", text: row.team_name }),
        el("td", { className: "num", text: row.played }),
        el("td", { className: "num", text: row.won }),
        el("td", { className: "num", text: row.drawn }),
        el("td", { className: "num", text: row.lost }),
        el("td", { className: "num wide", text: row.score_for }),
        el("td", { className: "num wide", text: row.score_against }),
        el("td", { className: "num", text: signed(row.score_diff) }),
        el("td", { className: "num pts", text: row.points }),
      ]);
    }));
    // Focusable so that a keyboard can scroll it where it is wider than the screen.
    var wrap = el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-label": caption }, [
      el("table", { className: "standings" }, [
        el("caption", { text: caption }), el("thead", {}, [head]), body,
      ]),
    ]);
    var line = el("p", { id: lineId, className: "why-line", hidden: true });
    return el("div", { className: "standings-block" }, [wrap, line]);
  }

  // Show (or, pressed again, hide) one row's explanation in its table's line.
  function toggleWhy(block, button, open) {
    var line = block.querySelector(".why-line");
    block.querySelectorAll("button.why").forEach(function (other) {
      other.setAttribute("aria-expanded", "false");
    });
    line.hidden = !open;
    line.textContent = open ? button.title : "";
    if (open) button.setAttribute("aria-expanded", "true");
  }

  // Consecutive runs of items with the same key, in order: [[key, [items]], ...]
  function runsBy(items, keyOf) {
    var runs = [];
    items.forEach(function (item) {
      var key = keyOf(item);
      var last = runs[runs.length - 1];
      if (last && last[0] === key) last[1].push(item);
      else runs.push([key, [item]]);
    });
    return runs;
  }

  function compareGames(a, b) {
    var roundA = a.round === null ? Infinity : a.round;
    var roundB = b.round === null ? Infinity : b.round;
    if (roundA !== roundB) return roundA - roundB;
    var timeA = a.starts_at ? Date.parse(a.starts_at) : Infinity;
    var timeB = b.starts_at ? Date.parse(b.starts_at) : Infinity;
    if (timeA !== timeB) return timeA < timeB ? -1 : 1;
    return a.id - b.id;
  }

  function EventView(eventId) {
    this.base = "/api/v1/events/" + encodeURIComponent(eventId);
    this.event = null;
    this.standings = null;
    this.games = new Map(); // id → game
    this.teamNames = new Map(); // id → name
    this.flashed = new Map(); // game id → when its score last changed (ms)
    this.corrections = new Map(); // game id → reason of its last correction
    this.openWhy = null; // team id whose standings explanation is shown (kept across updates)
  }

  EventView.prototype.teamName = function (id) {
    return this.teamNames.get(id) || "Team " + id;
  };

  EventView.prototype.renderHeader = function () {
    var event = this.event;
    document.title = "Matchday · " + event.name;
    byId("event-name").textContent = event.name;
    byId("event-meta").textContent = joinParts([
      event.sport, formatDateRange(event.starts_on, event.ends_on),
    ]);
  };

  EventView.prototype.renderStandings = function () {
    var root = byId("standings");
    clear(root);
    var rows = (this.standings && this.standings.rows) || [];
    if (rows.length === 0) {
      root.appendChild(el("p", { className: "muted", text: "No teams yet." }));
      return;
    }
    var runs = runsBy(rows, function (row) { return row.group; });
    var eventName = this.event ? this.event.name : "Event";
    var names = new Map(rows.map(function (row) { return [row.team_id, row.team_name]; }));
    var view = this;
    var nameOf = function (id) { return names.get(id) || view.teamName(id); };
    runs.forEach(function (run, index) {
      var caption = eventName + " standings";
      if (runs.length > 1 || run[0] !== null) {
        var group = run[0] === null ? "No group" : "Group " + run[0];
        root.appendChild(el("h3", { text: group }));
        caption = group + " standings";
      }
      root.appendChild(standingsTable(run[1], caption, nameOf, "why-" + index));
    });
    root.querySelectorAll("button.why").forEach(function (button) {
      var block = button.closest(".standings-block");
      var teamId = Number(button.getAttribute("data-team-id"));
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        view.openWhy = open ? teamId : null;
        toggleWhy(block, button, open);
      });
      if (teamId === view.openWhy) toggleWhy(block, button, true); // a new table, still open
    });
  };

  EventView.prototype.homeName = function (game) {
    return game.home_team_name || this.teamName(game.home_team_id);
  };

  EventView.prototype.awayName = function (game) {
    return game.away_team_name || this.teamName(game.away_team_id);
  };

  // The score period by period ("1st half 1–0", "Q1 25–20", "Set 1 25–20"), when recorded.
  function periodList(game) {
    if (!Array.isArray(game.periods) || game.periods.length === 0) return null;
    return el("ol", { className: "periods", "aria-label": "Score by period" },
      game.periods.map(function (period) {
        return el("li", { text: period.name + " " + period.home + "–" + period.away });
      }));
  }

  EventView.prototype.gameItem = function (game) {
    var played = game.home_score !== null && game.away_score !== null;
    var score = played ? game.home_score + " – " + game.away_score : "vs";
    var changed = this.flashed.get(game.id);
    var flash = changed !== undefined && Date.now() - changed < FLASH_MS;
    var correction = this.corrections.get(game.id);
    var classes = "game" + (flash ? " flash" : "") + (correction !== undefined ? " corrected" : "");
    return el("li", { className: classes, "data-status": game.status, "data-game-id": game.id }, [
      el("div", { className: "line" }, [
        el("span", { className: "home", text: this.homeName(game) }),
        el("span", { className: "score", text: score }),
        el("span", { className: "away", text: this.awayName(game) }),
      ]),
      periodList(game),
      el("div", { className: "meta" }, [
        el("span", { className: "badge", text: STATUS_LABELS[game.status] || game.status }),
        correction !== undefined ? " " : null,
        correction !== undefined
          ? el("span", { className: "badge correction", text: "Corrected" })
          : null,
        " ",
        joinParts([formatDateTime(game.starts_at), game.venue]),
      ]),
      correction ? el("p", { className: "correction-note", text: "Correction: " + correction }) : null,
    ]);
  };

  // Not started, in progress, or finished (every game decided); shown beside the title.
  EventView.prototype.phase = function () {
    var games = Array.from(this.games.values());
    if (games.length === 0) return "empty";
    var open = games.filter(function (g) { return g.status === "scheduled" || g.status === "live"; });
    if (open.length === 0) return "finished";
    return games.some(function (g) { return g.status !== "scheduled"; }) ? "running" : "upcoming";
  };

  EventView.prototype.renderPhase = function () {
    var node = byId("phase");
    if (!node) return;
    var phase = this.phase();
    var labels = {
      empty: "No games scheduled yet",
      upcoming: "Not started yet",
      running: "In progress",
      finished: "Finished: these are the final standings",
    };
    node.setAttribute("data-phase", phase);
    node.textContent = labels[phase];
  };

  EventView.prototype.renderGames = function () {
    var root = byId("games");
    clear(root);
    var games = Array.from(this.games.values()).sort(compareGames);
    this.renderPhase();
    if (games.length === 0) {
      root.appendChild(el("p", { className: "muted", text: "No games scheduled yet." }));
      return;
    }
    var self = this;
    runsBy(games, function (game) { return game.round; }).forEach(function (run) {
      root.appendChild(el("h3", { text: run[0] === null ? "Games" : "Round " + run[0] }));
      root.appendChild(el("ol", { className: "games" }, run[1].map(function (game) {
        return self.gameItem(game);
      })));
    });
  };

  EventView.prototype.setGames = function (games) {
    var map = new Map();
    games.forEach(function (game) { map.set(game.id, game); });
    this.games = map;
  };

  // A game from the stream; ignores messages older than what the page already shows.
  EventView.prototype.applyGame = function (game) {
    if (!game || typeof game.id !== "number") return false;
    var known = this.games.get(game.id);
    if (known && typeof known.version === "number" && game.version < known.version) return false;
    this.games.set(game.id, game);
    return true;
  };

  EventView.prototype.applyStandings = function (standings) {
    if (!standings || !Array.isArray(standings.rows)) return false;
    var current = this.standings;
    if (current && typeof current.version === "number" && standings.version < current.version) {
      return false;
    }
    this.standings = standings;
    var names = this.teamNames;
    standings.rows.forEach(function (row) {
      if (!names.has(row.team_id)) names.set(row.team_id, row.team_name);
    });
    return true;
  };

  EventView.prototype.loadEvent = async function () {
    this.event = await getJSON(this.base);
    this.renderHeader();
  };

  // Keeps a newer table the stream already delivered (applyStandings compares versions).
  EventView.prototype.loadStandings = async function () {
    if (this.applyStandings(await getJSON(this.base + "/standings"))) this.renderStandings();
  };

  // Teams, standings and games together; renders once everything has arrived.
  EventView.prototype.loadAll = async function () {
    var results = await Promise.all([
      getAll(this.base + "/teams"),
      getJSON(this.base + "/standings"),
      getAll(this.base + "/games"),
    ]);
    var names = new Map();
    results[0].forEach(function (team) { names.set(team.id, team.name); });
    this.teamNames = names;
    this.standings = null; // a full reload replaces, whatever its version
    this.applyStandings(results[1]);
    this.setGames(results[2]);
    this.renderStandings();
    this.renderGames();
  };

  // A score that differs from the one shown: highlighted for a while, and announced.
  EventView.prototype.noteScore = function (game, correction) {
    var known = this.games.get(game.id);
    var same = known && known.home_score === game.home_score && known.away_score === game.away_score;
    if (correction) this.corrections.set(game.id, correction.reason || "score corrected");
    if (same && !correction) return;
    this.flashed.set(game.id, Date.now());
    var self = this;
    window.setTimeout(function () { self.renderGames(); }, FLASH_MS + 50); // the highlight ends
    if (game.home_score === null || game.away_score === null) return;
    announce((correction ? "Corrected: " : "") + this.homeName(game) + " " + game.home_score +
      ", " + this.awayName(game) + " " + game.away_score +
      (game.status === "final" ? ", final" : ""));
  };

  // --- live updates: the stream when it answers, polling otherwise ------------------------

  function LiveFeed(options) {
    this.options = options; // {streamUrl(), refresh(), onMessage(type, data), onMode(mode)}
    this.opened = false;
    this.timer = null;
    this.source = null;
  }

  LiveFeed.prototype.startPolling = function () {
    if (this.timer !== null) return;
    var options = this.options;
    this.timer = window.setInterval(function () {
      if (!document.hidden) options.refresh();
    }, POLL_MS);
    options.onMode("polling");
  };

  LiveFeed.prototype.stopPolling = function () {
    if (this.timer === null) return;
    window.clearInterval(this.timer);
    this.timer = null;
  };

  LiveFeed.prototype.start = function () {
    var self = this;
    var options = this.options;
    // Poll from the start: the stream takes over once it is open.
    this.startPolling();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && self.timer !== null) options.refresh();
    });
    if (typeof window.EventSource !== "function") return;

    var source = new window.EventSource(options.streamUrl());
    this.source = source;
    source.addEventListener("open", function () {
      self.opened = true;
      self.stopPolling();
      options.onMode("live");
    });
    source.addEventListener("error", function () {
      if (source.readyState === window.EventSource.CLOSED) {
        // Refused (no stream endpoint, not an event stream): keep polling for good.
        source.close();
        self.source = null;
        self.startPolling();
        return;
      }
      // The browser reconnects (sending Last-Event-ID, so it catches up); poll meanwhile.
      self.startPolling();
      if (self.opened) options.onMode("reconnecting");
    });
    ["score", "game", "correction", "standings", "reset"].forEach(function (type) {
      source.addEventListener(type, function (message) {
        var data = null;
        try {
          data = JSON.parse(message.data);
        } catch (err) {
          data = null;
        }
        options.onMessage(type, data);
      });
    });
  };

  var lastUpdate = null; // when the page last had fresh data

  // connecting, live, polling, reconnecting, offline, stopped: what the page is doing.
  function liveLabel(mode) {
    var live = byId("live");
    live.setAttribute("data-mode", mode);
    var since = lastUpdate ? " (last update " + clockTime(lastUpdate) + ")" : "";
    var labels = {
      connecting: "Connecting…",
      live: "Live",
      polling: "Updating every " + POLL_MS / 1000 + " s",
      reconnecting: "Reconnecting…" + since,
      offline: "Cannot reach the server, retrying" + since,
      stopped: "Not updating",
    };
    live.textContent = labels[mode] || mode;
  }

  function markUpdated() {
    lastUpdate = new Date();
    byId("updated").textContent = "Updated " + clockTime(lastUpdate);
  }

  // --- questions (POST /api/v1/analytics/query) -------------------------------------------

  // What each refusal code says to a spectator (the server's message follows it).
  var REFUSALS = {
    off_topic: "I can only answer questions about this event.",
    unknown_team: "I don't know that team.",
    unsupported_question: "I can't answer that part.",
    unrecognized_question: "Sorry, I cannot answer that.",
  };

  function askBox(eventId) {
    var form = byId("ask");
    var input = byId("question");
    var answer = byId("answer");
    var understood = byId("understood");
    var suggestions = byId("suggestions");
    if (!form) return;

    function offer(questions) {
      clear(suggestions);
      questions.forEach(function (question) {
        var button = el("button", { type: "button", className: "suggestion", text: question });
        button.addEventListener("click", function () {
          input.value = question;
          ask();
        });
        suggestions.appendChild(button);
      });
    }

    // The echoed plan ("Teams with draws ≥ 3, in Summer Cup"): what was actually answered,
    // so a misread question shows at a glance.
    function showUnderstood(text) {
      if (understood) understood.textContent = text ? "Answered: " + text : "";
    }

    function refused(err) {
      var details = err.details || {};
      var lead = REFUSALS[err.code];
      if (!lead) {
        answer.textContent = "Could not answer: " + err.message;
        return;
      }
      if (err.code === "unrecognized_question" && details.did_you_mean) {
        answer.textContent = "Did you mean: " + details.did_you_mean;
        offer([details.did_you_mean]);
        return;
      }
      answer.textContent = lead + " " + err.message + " Try one of these:";
      if (err.code === "unknown_team" && details.suggestions && details.suggestions.length) {
        answer.textContent = lead + " " + err.message + " Closest: " +
          details.suggestions.join(", ") + ".";
      }
      offer(details.examples || []);
    }

    async function ask() {
      var question = input.value.trim();
      if (!question) return;
      answer.textContent = "Thinking…";
      showUnderstood("");
      clear(suggestions);
      try {
        var body = await postJSON("/api/v1/analytics/query", {
          question: question, event_id: Number(eventId),
        });
        answer.textContent = body.answer;
        showUnderstood(body.understood_as);
      } catch (err) {
        refused(err);
      }
    }

    form.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      ask();
    });
  }

  function eventPage() {
    var match = /^\/events\/([0-9]+)\/?$/.exec(window.location.pathname);
    if (!match) {
      setStatus("No such event.");
      return;
    }
    askBox(match[1]);
    var view = new EventView(match[1]);
    var standingsTimer = null;

    var feed = null;

    function reportError(err) {
      if (err.status === 404) {
        setStatus("This event does not exist or is not public.");
        return;
      }
      setStatus("Could not update: " + err.message + ".");
      if (err.status === 0) liveLabel("offline");
    }

    async function refresh() {
      try {
        await view.loadAll();
        setStatus("");
        markUpdated();
        if (feed && byId("live").getAttribute("data-mode") === "offline") {
          liveLabel(feed.timer === null ? "live" : "polling");
        }
      } catch (err) {
        reportError(err);
      }
    }

    // Several scores in a burst cause one standings request.
    function refetchStandingsSoon() {
      if (standingsTimer !== null) return;
      standingsTimer = window.setTimeout(async function () {
        standingsTimer = null;
        try {
          await view.loadStandings();
          markUpdated();
        } catch (err) {
          reportError(err);
        }
      }, 300);
    }

    function onMessage(type, data) {
      if (type === "reset") {
        refresh(); // the stream's history moved on: start again from the API
        return;
      }
      if (type === "standings") {
        if (view.applyStandings(data)) view.renderStandings();
        else if (!data) refetchStandingsSoon();
        markUpdated();
        return;
      }
      var game = type === "correction" ? data && data.game : data;
      if (game && typeof game.id === "number" && (type === "score" || type === "correction")) {
        view.noteScore(game, type === "correction" ? data : null);
      }
      if (view.applyGame(game)) {
        var unknownTeam = !view.teamNames.has(game.home_team_id) ||
          !view.teamNames.has(game.away_team_id);
        if (unknownTeam) refresh();
        else view.renderGames();
        markUpdated();
      }
      if (type === "score" || type === "correction") refetchStandingsSoon();
    }

    feed = new LiveFeed({
      // Open the stream where the standings left off, so nothing in between is missed.
      streamUrl: function () {
        var last = view.standings && view.standings.last_event_id;
        var url = view.base + "/stream";
        return last ? url + "?last_event_id=" + encodeURIComponent(last) : url;
      },
      refresh: refresh,
      onMessage: onMessage,
      onMode: liveLabel,
    });

    // The first load: a server that cannot be reached is tried again, never waited on forever.
    async function start() {
      try {
        await view.loadEvent();
      } catch (err) {
        reportError(err);
        if (err.status === 0) {
          setStatus("Could not load this event: " + err.message + ". Trying again in " +
            POLL_MS / 1000 + " s.");
          window.setTimeout(start, POLL_MS);
        } else {
          liveLabel("stopped");
        }
        return;
      }
      await refresh();
      feed.start();
    }
    liveLabel("connecting");
    start();
  }

  // --- start ------------------------------------------------------------------------------

  // The question box alone, for tests/static/question_box.js (Node, no browser).
  if (typeof window !== "undefined" && typeof process !== "undefined") {
    globalThis.__matchdayAskBox = askBox;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.body.getAttribute("data-page");
    if (page === "events") eventsPage();
    else if (page === "event") eventPage();
  });
})();
