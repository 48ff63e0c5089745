package diagnose

// detectPortBlocked: not written yet.
func detectPortBlocked(c *Context) []Finding { return nil }
