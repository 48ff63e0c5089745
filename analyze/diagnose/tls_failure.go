package diagnose

// detectTLSFailure: not written yet.
func detectTLSFailure(c *Context) []Finding { return nil }
