package console

// myQARoutes registers the rep's screens: my evaluations
// (/me/evaluations: acknowledge, dispute) and my coaching points
// (/me/coaching, each playing its call from its moment).
func (c *Console) myQARoutes() {}
