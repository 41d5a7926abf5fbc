package postgres

import (
	"context"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TODO(qa-postgres): every method below answers from the tables.

// Evaluations returns the reviewed calls matching f.
func (s *Store) Evaluations(ctx context.Context, f projections.EvaluationFilter) ([]projections.CallView, error) {
	return nil, events.Errorf(events.Internal, "evaluations: not built yet")
}

// Disputes returns the disputes matching f.
func (s *Store) Disputes(ctx context.Context, f projections.DisputeFilter) ([]projections.Dispute, error) {
	return nil, events.Errorf(events.Internal, "disputes: not built yet")
}

// Dispute returns one dispute; NotFound if unknown.
func (s *Store) Dispute(ctx context.Context, id string) (projections.Dispute, error) {
	return projections.Dispute{}, notFound("dispute")
}

// ScorecardForm returns a form's version (0: latest); NotFound if unknown.
func (s *Store) ScorecardForm(ctx context.Context, id string, version int) (projections.ScorecardForm, error) {
	return projections.ScorecardForm{}, notFound("scorecard form")
}

// ScorecardForms returns the latest version of every form.
func (s *Store) ScorecardForms(ctx context.Context) ([]projections.ScorecardForm, error) {
	return []projections.ScorecardForm{}, nil
}

// SamplingPlans returns the sampling plan's versions, newest first.
func (s *Store) SamplingPlans(ctx context.Context) ([]projections.SamplingPlan, error) {
	return []projections.SamplingPlan{}, nil
}

// Calibration returns one session; NotFound if unknown.
func (s *Store) Calibration(ctx context.Context, id string) (projections.CalibrationSession, error) {
	return projections.CalibrationSession{}, notFound("calibration session")
}

// Calibrations returns the sessions matching f.
func (s *Store) Calibrations(ctx context.Context, f projections.CalibrationFilter) ([]projections.CalibrationSession, error) {
	return []projections.CalibrationSession{}, nil
}
