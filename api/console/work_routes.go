package console

// workRoutes registers the worklist, the customer page, its forms and search.
func (c *Console) workRoutes() {
}
