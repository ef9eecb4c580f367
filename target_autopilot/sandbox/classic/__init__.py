"""The Autopilot Classic API surface (api2.autopilothq.com): contacts, lists, custom fields."""
