"""Today's Autopilot (Ortto, api.ap3api.com): turning the plan into merges that set and unset tags."""
