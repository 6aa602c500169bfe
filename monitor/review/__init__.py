"""Reviewing changes: diff reports, the web UI's pages and feed, and the static export."""
