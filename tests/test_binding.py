"""Parameter values bound into the query text: constants where that means the same as a VALUES
block first in the WHERE group, the VALUES block everywhere else, and the same rows either way."""

from __future__ import annotations

import pytest

from kg import KnowledgeGraph
from kg.sparqltext import bind_values
from kg.terms import Term

from .test_differential import CATALOGUE, cases
from .test_remote import comparable

X = {"_x": Term.literal("a")}


@pytest.mark.parametrize("text, inlined", [
    ("SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ?_x) }", True),
    ("SELECT ?s WHERE { ?s ?p ?_x }", True),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER(!BOUND(?_x) || ?o = ?_x) }", True),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER NOT EXISTS { ?s ?q ?_x } }", True),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER(EXISTS { { ?s ?q ?_x } UNION { ?s ?q ?o } }) }", True),
    # Places where a constant would not mean what the VALUES block means:
    ("SELECT ?s WHERE { { ?s ?p ?o FILTER(?o = ?_x) } UNION { ?s ?p ?o } }", False),  # a nested group cannot see it
    ("SELECT ?s WHERE { ?s ?p ?o OPTIONAL { ?s ?q ?_x } }", False),  # OPTIONAL keeps rows it would drop
    ("SELECT ?s ?_x WHERE { ?s ?p ?_x }", False),  # projected
    ("SELECT * WHERE { ?s ?p ?_x }", False),
    ("SELECT DISTINCT * WHERE { ?s ?p ?_x }", False),
    ("SELECT ?s WHERE { ?s ?p ?o BIND(?_x AS ?y) }", False),
    ("SELECT ?s WHERE { ?s ?p ?o VALUES ?_x { 1 } }", False),
    ("SELECT ?s WHERE { GRAPH ?_x { ?s ?p ?o } }", False),
    ("SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?_x } GROUP BY ?s ?_x", False),
    ("SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ?_x) } ORDER BY (?_x)", False),
    ("SELECT ?s WHERE { ?s ?p [ ?q ?_x ] }", False),
    ("CONSTRUCT { ?s ?p ?_x } WHERE { ?s ?p ?_x }", False),
])
def test_constant_only_where_it_means_the_same(text, inlined):
    bound = bind_values(text, X)
    if inlined:
        assert "?_x" not in bound and '"a"' in bound and "VALUES (" not in bound
    else:
        assert bound.count('VALUES (?_x) { ("a") }') == 1 and bound.count("?_x") == text.count("?_x") + 1


def test_a_variable_that_cannot_be_inlined_keeps_the_others_inlined():
    text = "SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ?_x) OPTIONAL { ?s ?q ?_y } }"
    bound = bind_values(text, {**X, "_y": Term.literal("b")})
    assert 'FILTER(?o = "a")' in bound and 'VALUES (?_y) { ("b") }' in bound and "?_x" not in bound


def test_bound_of_a_bound_parameter_is_true():
    text = "SELECT ?s WHERE { ?s ?p ?o FILTER(!bound( ?_x ) || ?o = ?_x) }"
    assert bind_values(text, X) == 'SELECT ?s WHERE { ?s ?p ?o FILTER(!true || ?o = "a") }'


def test_the_tokeniser_decides_not_the_characters():
    # A '?_x' inside a string or comment is not a variable and is left alone.
    text = 'SELECT ?s WHERE { ?s ?p "?_x" # ?_x\n FILTER(?s = ?_x) }'
    assert bind_values(text, X) == 'SELECT ?s WHERE { ?s ?p "?_x" # ?_x\n FILTER(?s = "a") }'


@pytest.fixture(scope="module")
def kg():
    return KnowledgeGraph.load()


@pytest.mark.parametrize("query, params", list(cases()))
def test_constants_give_the_same_rows_as_the_values_block(kg, query, params):
    inlined = kg.sparql(query.bind(params))
    joined = kg.sparql(query.bind(params, inline=False))
    assert comparable(inlined, query) == comparable(joined, query)
    assert inlined.variables == joined.variables


def test_every_parameter_of_the_catalogue_is_inlined():
    # The speed-up is real only if the canned queries keep their parameters in inlinable places.
    # (unlinked-entities reads ?__lang inside an OPTIONAL: a small query, bound by VALUES.)
    for q in CATALOGUE:
        values = {p.name: p.choices[0] if p.choices else
                  {"date": "2022-03-06", "integer": "1", "IRI": "https://example.org/x"}.get(p.type, "x")
                  for p in q.params}
        assert ("VALUES (?_" in q.bind(values)) == (q.name == "unlinked-entities"), q.name
