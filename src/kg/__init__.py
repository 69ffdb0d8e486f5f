"""resistance-kg: a validated, sourced, queryable knowledge graph of civilian protests under occupation."""

__version__ = "0.1.0"
