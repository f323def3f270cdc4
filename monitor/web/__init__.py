"""The status page served by the health endpoint (static assets)."""
