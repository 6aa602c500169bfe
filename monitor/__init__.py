"""statement monitor: watch announcement pages and alert when a statement is edited or published."""

__version__ = "0.1.0"
