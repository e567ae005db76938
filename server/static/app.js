// Matchday spectator pages: the list of public events, and one event's standings and games.
//
// Loaded as a file (the Content-Security-Policy allows no inline script). Data from the API
// reaches the page only through textContent and attributes set one by one — never innerHTML.
//
// Live updates: the event page opens an EventSource on /api/v1/events/{id}/stream and
// applies `score`, `game`, `correction` and `standings` messages as they come. Until the
// stream is open (or where it is unavailable) the page polls the API every 5 seconds.
(function () {
  "use strict";

  var POLL_MS = 5000;
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
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(0, "the server cannot be reached");
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
        setStatus("Could not load the events: " + err.message);
      } finally {
        more.disabled = false;
      }
    }

    more.addEventListener("click", loadMore);
    loadMore();
  }

  // --- one event --------------------------------------------------------------------------

  function standingsTable(rows) {
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
        el("td", { className: "num", text: row.rank }),
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
    return el("div", { className: "table-wrap" }, [
      el("table", { className: "standings" }, [el("thead", {}, [head]), body]),
    ]);
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
    runs.forEach(function (run) {
      if (runs.length > 1 || run[0] !== null) {
        root.appendChild(el("h3", { text: run[0] === null ? "No group" : "Group " + run[0] }));
      }
      root.appendChild(standingsTable(run[1]));
    });
  };

  EventView.prototype.gameItem = function (game) {
    var played = game.home_score !== null && game.away_score !== null;
    var score = played ? game.home_score + " – " + game.away_score : "vs";
    return el("li", { className: "game", "data-status": game.status }, [
      el("div", { className: "line" }, [
        el("span", { className: "home", text: this.teamName(game.home_team_id) }),
        el("span", { className: "score", text: score }),
        el("span", { className: "away", text: this.teamName(game.away_team_id) }),
      ]),
      el("div", { className: "meta" }, [
        el("span", { className: "badge", text: STATUS_LABELS[game.status] || game.status }),
        " ",
        joinParts([formatDateTime(game.starts_at), game.venue]),
      ]),
    ]);
  };

  EventView.prototype.renderGames = function () {
    var root = byId("games");
    clear(root);
    var games = Array.from(this.games.values()).sort(compareGames);
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

  // --- live updates: the stream when it answers, polling otherwise ------------------------

  function LiveFeed(options) {
    this.options = options; // {streamUrl(), refresh(), onMessage(type, data), onMode(mode)}
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
      self.stopPolling();
      options.onMode("live");
    });
    source.addEventListener("error", function () {
      if (source.readyState === window.EventSource.CLOSED) {
        // Refused (no stream endpoint, not an event stream): keep polling for good.
        source.close();
        self.source = null;
      }
      // Otherwise the browser reconnects (sending Last-Event-ID); poll meanwhile.
      self.startPolling();
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

  function liveLabel(mode) {
    var live = byId("live");
    live.setAttribute("data-mode", mode);
    live.textContent = mode === "live" ? "Live" : "Updating every " + POLL_MS / 1000 + " s";
  }

  function markUpdated() {
    var time = new Date().toLocaleTimeString(undefined, {
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    byId("updated").textContent = "Updated " + time;
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

    function reportError(err) {
      if (err.status === 404) setStatus("This event does not exist or is not public.");
      else setStatus("Could not update: " + err.message);
    }

    async function refresh() {
      try {
        await view.loadAll();
        setStatus("");
        markUpdated();
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
      if (view.applyGame(game)) {
        var unknownTeam = !view.teamNames.has(game.home_team_id) ||
          !view.teamNames.has(game.away_team_id);
        if (unknownTeam) refresh();
        else view.renderGames();
        markUpdated();
      }
      if (type === "score" || type === "correction") refetchStandingsSoon();
    }

    var feed = new LiveFeed({
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

    view.loadEvent().then(async function () {
      await refresh();
      feed.start();
    }, reportError);
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
