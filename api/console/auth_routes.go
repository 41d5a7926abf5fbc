package console

// authRoutes registers sign-in, setup, second factor, sign-out, the
// account page and the admin's staff screens.
func (c *Console) authRoutes() {
}
