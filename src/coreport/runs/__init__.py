"""Runs: projects, runs, metric history, console logs and media (DESIGN.md §5).

``ports`` is what a run store implements; ``schemas`` the REST request and response models;
``service`` the operations the REST routes call; ``stream`` the live feed of new history rows
through the bus; ``downsample`` fits a series into a point budget.
"""
