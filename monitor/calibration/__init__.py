"""``crowd-monitor calibrate``: from "the counts are off" to "the counts fit" for one camera.

``snapshots`` saves frames of the live camera with a counts.csv to fill in; ``scan`` measures the
settings on the counted frames and picks one; ``yamledit`` writes it back into the config file,
keeping its comments and layout.
"""
