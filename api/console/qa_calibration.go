package console

// calibrationRoutes registers the calibration sessions
// (/qa/calibrations, /qa/calibrations/{id}).
func (c *Console) calibrationRoutes() {}
