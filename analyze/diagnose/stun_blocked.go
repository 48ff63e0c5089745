package diagnose

// detectSTUNBlocked: not written yet.
func detectSTUNBlocked(c *Context) []Finding { return nil }
