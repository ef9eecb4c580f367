"""Autopilot Classic (api2.autopilothq.com): turning the plan into its requests."""
