"""The Ortto API surface (api.ap3api.com, today's Autopilot): people, tags, custom fields, audiences."""
