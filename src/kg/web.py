"""HTML for ``kg serve``: pages, result tables, the SVG map and timeline, in English and Ukrainian.

Pure functions from data to HTML text; nothing here runs a query or reads a request. Every
value from the data or the request is escaped here (``_e``). The pages work without
JavaScript; ``static/app.js`` only makes tables sortable. Nothing is loaded from elsewhere:
no CDN, no map tiles (the map draws the events over a latitude/longitude grid).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from .catalogue import Query
from .namespaces import ID, RDF, shorten
from .results import Result
from .terms import Term

LANGS = ("en", "uk")
RDF_TYPE = RDF + "type"

TEXT = {
    "en": {
        "title": "Civilian resistance under occupation — knowledge graph",
        "skip": "Skip to content",
        "home": "Overview", "queries": "Questions", "sparql": "SPARQL",
        "intro": "Protests in Russian-occupied towns of Kherson, Zaporizhzhia and Luhansk oblasts in March "
                 "2022, each fact with the sources that reported it. Pick a question, or write SPARQL.",
        "events": "events", "map": "Map of events", "timeline": "Protests per day",
        "map_desc": "Each point is an event at its town, coloured by what the occupying forces did. "
                    "No base map: the grid shows degrees of latitude and longitude.",
        "timeline_desc": "Number of protest events on each day.",
        "legend": "What the forces did", "run": "Run", "results": "Results", "rows": "rows",
        "no_rows": "No rows match.", "truncated": "Only the first {n} rows are shown (row limit).",
        "download": "Download", "params": "Parameters", "required": "required", "optional": "optional",
        "error": "Error", "facts": "Facts", "sources": "Sources", "referenced_by": "Referenced by",
        "as_turtle": "as Turtle", "language": "Мова: українська", "day": "day", "count": "count",
        "map_more": "The map shows the first {n} of {total} events.", "not_found": "Not found",
        "remote_only": "This question calls Wikidata (SERVICE); this server makes no outbound requests. "
                       "Run it with: kg query {name} --allow-service",
        "query_text": "Query", "sparql_intro": "Any read-only SPARQL 1.1 query. Machines: this same URL is a "
                                           "SPARQL 1.1 Protocol endpoint (GET or POST).",
        "data_table": "The figures as a table",
        "categories": {"live-fire": "Live fire at protesters", "shots-into-the-air": "Warning shots into the air",
                       "use-of-force": "Other force (tear gas, beatings)", "intimidation": "Intimidation",
                       "obstruction": "Obstruction", "none": "No act reported"},
    },
    "uk": {
        "title": "Цивільний спротив в окупації — граф знань",
        "skip": "Перейти до змісту",
        "home": "Огляд", "queries": "Питання", "sparql": "SPARQL",
        "intro": "Протести в окупованих росією містах Херсонської, Запорізької та Луганської областей у "
                 "березні 2022 року; кожен факт — з джерелами, що про нього повідомили. Оберіть питання "
                 "або напишіть SPARQL.",
        "events": "подій", "map": "Мапа подій", "timeline": "Протести за днями",
        "map_desc": "Кожна точка — подія у своєму місті, колір — що зробили окупаційні сили. Без "
                    "підкладки: сітка показує градуси широти й довготи.",
        "timeline_desc": "Кількість протестних подій щодня.",
        "legend": "Що зробили сили", "run": "Виконати", "results": "Результати", "rows": "рядків",
        "no_rows": "Жоден рядок не відповідає.", "truncated": "Показано лише перші {n} рядків (обмеження).",
        "download": "Завантажити", "params": "Параметри", "required": "обов'язковий", "optional": "необов'язковий",
        "error": "Помилка", "facts": "Факти", "sources": "Джерела", "referenced_by": "Посилання сюди",
        "as_turtle": "у форматі Turtle", "language": "Language: English", "day": "день", "count": "кількість",
        "map_more": "Мапа показує перші {n} з {total} подій.", "not_found": "Не знайдено",
        "remote_only": "Це питання звертається до Wikidata (SERVICE); цей сервер не робить зовнішніх "
                       "запитів. Виконайте: kg query {name} --allow-service",
        "query_text": "Запит", "sparql_intro": "Будь-який запит SPARQL 1.1 лише для читання. Для програм: "
                                            "ця ж адреса — точка доступу SPARQL 1.1 Protocol (GET або POST).",
        "data_table": "Ці дані таблицею",
        "categories": {"live-fire": "Стрільба по протестувальниках", "shots-into-the-air": "Постріли в повітря",
                       "use-of-force": "Інша сила (сльозогінний газ, побиття)", "intimidation": "Залякування",
                       "obstruction": "Перешкоджання", "none": "Дій не зафіксовано"},
    },
}

# Most severe first: an event is coloured by the first of these its acts fall under (skos:broader*).
SEVERITY = ("live-fire", "shots-into-the-air", "use-of-force", "intimidation", "obstruction", "none")
# Colour-blind-safe (Okabe-Ito), each with at least 3:1 contrast against the white page.
COLOURS = {"live-fire": "#c0392b", "shots-into-the-air": "#b35806", "use-of-force": "#7b3294",
           "intimidation": "#0072b2", "obstruction": "#117a65", "none": "#595959"}


def _e(value) -> str:
    return escape(str(value), quote=True)


def t(lang: str, key: str) -> str:
    return TEXT[lang][key]


@dataclass(frozen=True)
class Marker:
    """An event on the map."""

    event: str
    label: str
    date: str
    lat: float
    lon: float
    category: str


def local_href(iri: str) -> str | None:
    """The page of a resource of this graph (``/id/...``), or None for IRIs from elsewhere."""
    return "/id/" + iri[len(ID):] if iri.startswith(ID) and len(iri) > len(ID) else None


def with_lang(path: str, params: dict, lang: str) -> str:
    query = {k: v for k, v in params.items() if k != "lang" and v not in (None, "")}
    query["lang"] = lang
    return path + "?" + urlencode(query)


def layout(lang: str, title: str, body: str, path: str = "/", params: dict | None = None) -> str:
    other = "uk" if lang == "en" else "en"
    nav = "".join(f'<li><a href="{_e(with_lang(href, {}, lang))}">{_e(t(lang, key))}</a></li>'
                  for href, key in (("/", "home"), ("/queries", "queries"), ("/sparql", "sparql")))
    switch = f'<a href="{_e(with_lang(path, params or {}, other))}" hreflang="{other}" lang="{other}">' \
             f'{_e(t(lang, "language"))}</a>'
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · {_e(t(lang, "title"))}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">{_e(t(lang, "skip"))}</a>
<header><p class="site">{_e(t(lang, "title"))}</p>
<nav aria-label="main"><ul>{nav}<li class="lang">{switch}</li></ul></nav></header>
<main id="main">
<h1>{_e(title)}</h1>
{body}
</main>
</body>
</html>
"""


def error_block(lang: str, message: str) -> str:
    return f'<div class="error" role="alert"><strong>{_e(t(lang, "error"))}:</strong> {_e(message)}</div>'


# --- values and tables --------------------------------------------------------------------------

def link(iri: str, text: str, lang: str | None = None) -> str:
    """A link to a resource: its page here, or the IRI itself if it is http(s); else plain text
    (an IRI such as ``javascript:…`` in someone's data never becomes a link)."""
    href = local_href(iri)
    if href:
        return f'<a href="{_e(with_lang(href, {}, lang) if lang else href)}">{_e(text)}</a>'
    if iri.startswith(("http://", "https://")):
        return f'<a href="{_e(iri)}" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def cell(term: Term | None) -> str:
    if term is None:
        return ""
    if term.kind == "uri":
        return link(term.value, shorten(term.value))
    if term.kind == "bnode":
        return _e("_:" + term.value)
    return _e(term.value)


def _numeric(term: Term | None) -> bool:
    if term is None or term.kind != "literal":
        return False
    try:
        float(term.value)
    except ValueError:
        return False
    return True


def result_table(lang: str, result: Result, caption: str, truncated: bool = False, max_rows: int = 0) -> str:
    if result.boolean is not None:
        return f'<p class="boolean">{_e("true" if result.boolean else "false")}</p>'
    note = f'<p class="note" role="status">{_e(t(lang, "truncated").format(n=max_rows))}</p>' if truncated else ""
    if not result.rows:
        return f'<p class="empty" role="status">{_e(t(lang, "no_rows"))}</p>'
    numeric = {v for v in result.variables if all(r.get(v) is None or _numeric(r.get(v)) for r in result.rows)}
    head = "".join(f'<th scope="col"{" class=num" if v in numeric else ""}>{_e(v)}</th>' for v in result.variables)
    body = []
    for row in result.rows:
        cells = "".join(f'<td{" class=num" if v in numeric else ""}>{cell(row.get(v))}</td>' for v in result.variables)
        body.append(f"<tr>{cells}</tr>")
    count = f"{len(result.rows)} {t(lang, 'rows')}"
    return (f'{note}<div class="table-wrap"><table class="sortable results">'
            f'<caption>{_e(caption)} ({_e(count)})</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


# --- forms ----------------------------------------------------------------------------------------

_INPUT = {"date": 'type="date"', "integer": 'type="number" step="1"', "IRI": 'type="url"', "string": 'type="text"'}


def query_form(lang: str, query: Query, values: dict[str, str], open_: bool = True) -> str:
    fields = []
    for p in query.params:
        fid = f"{query.name}--{p.name}"
        value = values.get(p.name) or (p.default if p.name != "lang" else lang) or ""
        need = t(lang, "required") if p.required else t(lang, "optional")
        label = f'<label for="{_e(fid)}">{_e(p.name)} <span class="hint">({_e(p.type)}, {_e(need)})</span></label>'
        if p.choices:
            options = "".join(f'<option value="{_e(c)}"{" selected" if c == value else ""}>{_e(c)}</option>'
                              for c in p.choices)
            control = f'<select id="{_e(fid)}" name="{_e(p.name)}">{options}</select>'
        else:
            required = " required" if p.required else ""
            control = (f'<input id="{_e(fid)}" name="{_e(p.name)}" {_INPUT[p.type]} value="{_e(value)}"{required}>')
        fields.append(f'<div class="field">{label}{control}</div>')
    if not any(p.name == "lang" for p in query.params):
        fields.append(f'<input type="hidden" name="lang" value="{_e(lang)}">')
    return (f'<form class="query-form" method="get" action="/queries/{_e(query.name)}" '
            f'aria-label="{_e(query.name)}">{"".join(fields)}'
            f'<button type="submit">{_e(t(lang, "run"))}</button></form>')


def catalogue_list(lang: str, queries: list[Query]) -> str:
    items = []
    for q in queries:
        remote = ' <span class="tag">SERVICE</span>' if "remote" in q.tags else ""
        items.append(f'<li><a href="{_e(with_lang("/queries/" + q.name, {}, lang))}">{_e(q.name)}</a>{remote}'
                     f' — {_e(q.summary)}</li>')
    return f'<ul class="catalogue">{"".join(items)}</ul>'


# --- the map --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """The area the maps show: every event of the graph, with a margin."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, points: list[tuple[float, float]]) -> Frame:
        if not points:
            return cls(44.0, 22.0, 53.0, 41.0)  # Ukraine
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        pad_lat = max(0.5, (max(lats) - min(lats)) * 0.1)
        pad_lon = max(0.5, (max(lons) - min(lons)) * 0.1)
        return cls(min(lats) - pad_lat, min(lons) - pad_lon, max(lats) + pad_lat, max(lons) + pad_lon)


def svg_map(lang: str, markers: list[Marker], frame: Frame, total: int | None = None, width: int = 640) -> str:
    aspect = math.cos(math.radians((frame.north + frame.south) / 2))
    scale = width / ((frame.east - frame.west) * aspect)
    height = max(160, round((frame.north - frame.south) * scale))

    def xy(lat, lon):
        return (round((lon - frame.west) * aspect * scale, 1), round((frame.north - lat) * scale, 1))

    grid = []
    for lon in range(math.ceil(frame.west), math.floor(frame.east) + 1):
        x, _ = xy(frame.north, lon)
        grid.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height}"/><text x="{x + 2}" y="{height - 4}">{lon}°E</text>')
    for lat in range(math.ceil(frame.south), math.floor(frame.north) + 1):
        _, y = xy(lat, frame.west)
        grid.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}"/><text x="2" y="{y + 11}">{lat}°N</text>')
    names = TEXT[lang]["categories"]
    dots = []
    for m in markers:
        x, y = xy(m.lat, m.lon)
        label = f"{m.label} — {m.date} — {names[m.category]}"
        href = local_href(m.event) or m.event
        dots.append(f'<a href="{_e(with_lang(href, {}, lang))}" class="marker-link">'
                    f'<circle class="marker" cx="{x}" cy="{y}" r="6" fill="{COLOURS[m.category]}" '
                    f'data-event="{_e(m.event)}" data-category="{m.category}"><title>{_e(label)}</title></circle></a>')
    used = [c for c in SEVERITY if any(m.category == c for m in markers)]
    legend = "".join(f'<li><span class="swatch" style="background:{COLOURS[c]}"></span>{_e(names[c])}</li>'
                     for c in used)
    more = ""
    if total is not None and total > len(markers):
        more = f'<p class="note">{_e(t(lang, "map_more").format(n=len(markers), total=total))}</p>'
    return (f'<figure class="map"><svg role="img" aria-labelledby="map-title map-desc" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}"><title id="map-title">{_e(t(lang, "map"))}</title>'
            f'<desc id="map-desc">{_e(t(lang, "map_desc"))}</desc>'
            f'<g class="grid">{"".join(grid)}</g><g class="markers">{"".join(dots)}</g></svg>'
            f'<figcaption>{_e(t(lang, "map_desc"))}<ul class="legend" aria-label="{_e(t(lang, "legend"))}">'
            f'{legend}</ul>{more}</figcaption></figure>')


# --- the timeline ---------------------------------------------------------------------------------

def svg_timeline(lang: str, counts: list[tuple[str, int]], width: int = 640, height: int = 160) -> str:
    if not counts:
        return f'<p class="empty">{_e(t(lang, "no_rows"))}</p>'
    days = {dt.date.fromisoformat(d): n for d, n in counts}
    first, last = min(days), max(days)
    span = (last - first).days + 1
    top = max(days.values())
    bar_w = width / span
    plot_h = height - 30
    bars = []
    for d, n in sorted(days.items()):
        x = round((d - first).days * bar_w, 2)
        h = round(n / top * plot_h, 2)
        bars.append(f'<rect class="bar" x="{x}" y="{round(plot_h - h, 2)}" width="{max(round(bar_w - 1, 2), 0.5)}" '
                    f'height="{h}" data-date="{d}" data-count="{n}"><title>{d}: {n}</title></rect>')
    if span <= 31:  # a label under every day
        axis = "".join(f'<text x="{round((i + 0.5) * bar_w, 1)}" y="{height - 8}" text-anchor="middle">'
                       f'{first + dt.timedelta(days=i):%m-%d}</text>' for i in range(span))
    else:
        axis = (f'<text x="0" y="{height - 8}">{first}</text>'
                f'<text x="{width}" y="{height - 8}" text-anchor="end">{last}</text>')
    axis += f'<text x="2" y="12">{top}</text>'
    rows = "".join(f"<tr><td>{d}</td><td class=num>{n}</td></tr>" for d, n in sorted(days.items()))
    return (f'<figure class="timeline"><svg role="img" aria-labelledby="tl-title tl-desc" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}"><title id="tl-title">{_e(t(lang, "timeline"))}</title>'
            f'<desc id="tl-desc">{_e(t(lang, "timeline_desc"))}</desc>{"".join(bars)}'
            f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" class="axis"/>{axis}</svg>'
            f'<figcaption>{_e(t(lang, "timeline_desc"))}</figcaption>'
            f'<details><summary>{_e(t(lang, "data_table"))}</summary><table class="sortable">'
            f'<thead><tr><th scope="col">{_e(t(lang, "day"))}</th><th scope="col" class=num>{_e(t(lang, "count"))}</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></details></figure>')
