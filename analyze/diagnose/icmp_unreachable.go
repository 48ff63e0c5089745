package diagnose

// detectICMPUnreachable: not written yet.
func detectICMPUnreachable(c *Context) []Finding { return nil }
