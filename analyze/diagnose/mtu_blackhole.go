package diagnose

// detectMTUBlackhole: not written yet.
func detectMTUBlackhole(c *Context) []Finding { return nil }
