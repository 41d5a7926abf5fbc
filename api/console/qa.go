package console

// qaRoutes registers the supervisor's screens: the QA queue (/qa), the
// call page (/qa/calls/{id}: the player, the scorecard, the coaching
// points, every evaluation and dispute), the disputes to resolve
// (/qa/disputes), the scorecard forms (/qa/forms) and the sampling plan
// (/qa/sampling).
func (c *Console) qaRoutes() {
	c.qaSamplingRoutes() // qa_sampling.go: the sampling plan and its editor
}
