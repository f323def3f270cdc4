"""Stand-ins for a venue's infrastructure, for the demo and the tests: an RTSP camera and a broker."""
