package console

// auditAccessRoutes registers the auditor's export builder and access record screens.
func (c *Console) auditAccessRoutes() {}
