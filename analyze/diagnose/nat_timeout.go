package diagnose

// detectNATTimeout: not written yet.
func detectNATTimeout(c *Context) []Finding { return nil }
