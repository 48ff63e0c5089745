package diagnose

// detectTLSInterception: not written yet.
func detectTLSInterception(c *Context) []Finding { return nil }
