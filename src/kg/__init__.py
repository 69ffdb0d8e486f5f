"""resistance-kg: a validated, sourced, queryable knowledge graph of civilian protests under occupation."""

__version__ = "0.1.0"

__all__ = ["KnowledgeGraph", "__version__"]


def __getattr__(name):
    # Imported lazily so that `kg --version` and `kg validate` do not load the query stack.
    if name == "KnowledgeGraph":
        from .graph import KnowledgeGraph

        return KnowledgeGraph
    raise AttributeError(name)
