"""The state layer: every SQL statement of the project lives here (`store`, `recorder`)."""
