package diagnose

// detectDNSFailure: not written yet.
func detectDNSFailure(c *Context) []Finding { return nil }
