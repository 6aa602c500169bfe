"""What to watch: the validated configuration (`config`) and URL identity (`urls`)."""
