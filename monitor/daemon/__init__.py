"""`monitor run`: the service lifecycle, scheduler, health, metrics, HTTP endpoint and logs."""
