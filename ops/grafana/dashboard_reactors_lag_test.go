package grafana_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestDashboardOvertakenAndByteLag: the dashboard shows the reactors'
// overtaken decisions (dangol_reactor_overtaken_total) beside those
// appended and refused, and KurrentDB's lag (dangol_projection_lag_bytes)
// in bytes, never on the events' axis: the query's series is overridden to
// the unit bytes.
func TestDashboardOvertakenAndByteLag(t *testing.T) {
	raw, err := os.ReadFile("dashboards/dangol.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit string `json:"unit"`
				} `json:"defaults"`
				Overrides []struct {
					Matcher struct {
						ID      string `json:"id"`
						Options string `json:"options"`
					} `json:"matcher"`
					Properties []struct {
						ID    string `json:"id"`
						Value any    `json:"value"`
					} `json:"properties"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var overtaken, bytes bool
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			if strings.Contains(q.Expr, "dangol_reactor_overtaken_total") {
				overtaken = true
			}
			if !strings.Contains(q.Expr, "dangol_projection_lag_bytes") {
				continue
			}
			bytes = true
			unit := p.FieldConfig.Defaults.Unit
			for _, o := range p.FieldConfig.Overrides {
				if o.Matcher.ID == "byFrameRefID" && o.Matcher.Options == q.RefID {
					for _, pr := range o.Properties {
						if pr.ID == "unit" {
							unit, _ = pr.Value.(string)
						}
					}
				}
			}
			if unit != "bytes" {
				t.Errorf("panel %q shows %s in unit %q, want bytes", p.Title, q.Expr, unit)
			}
		}
	}
	if !overtaken {
		t.Error("no panel queries dangol_reactor_overtaken_total")
	}
	if !bytes {
		t.Error("no panel queries dangol_projection_lag_bytes")
	}
}
