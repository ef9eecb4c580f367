"""target-autopilot: a Singer target that exports segments of profiles into Autopilot lists."""
