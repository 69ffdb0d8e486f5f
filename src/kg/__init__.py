from kg.cli import main
