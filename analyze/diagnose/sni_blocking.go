package diagnose

// detectSNIBlocking: not written yet.
func detectSNIBlocking(c *Context) []Finding { return nil }
