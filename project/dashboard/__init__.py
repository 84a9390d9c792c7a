"""The staff dashboard: catalogue and webinar numbers as charts, with the figures alongside."""
