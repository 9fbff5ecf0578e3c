"""The model-launch tools: interleaving, canary and shadow readouts, drift, their charts and
report.

They sit beside the A/B readout, not inside it: they use only ``power``, ``config``, the
input checks and a few SQL readers (``abcore.launch.sql``), and nothing in the readout uses
them. Import the modules themselves (``from abcore.launch import canary``).
"""
