package grafana_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/ops/metrics"
)

// served returns the metrics `dangol serve` registers (cmd/dangol/serve.go's
// open: the same constructors, on a registry that only records what is
// registered), each with its variable labels.
func served(t *testing.T) map[string][]string {
	rec := &recorder{names: map[string][]string{}}
	rec.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.InstrumentStore(nil, rec)
	metrics.RegisterProjections(rec, nil)
	metrics.RegisterReactors(rec, nil)
	api.NewMetrics(rec)
	api.NewLiveMetrics(rec)
	if len(rec.names) < 10 {
		t.Fatalf("only %d metrics recorded: %v", len(rec.names), rec.names)
	}
	return rec.names
}

// recorder is a prometheus.Registerer that keeps each collector's
// descriptions (name and variable labels) and collects nothing.
type recorder struct{ names map[string][]string }

var (
	fqName    = regexp.MustCompile(`fqName: "([^"]*)"`)
	varLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		s := d.String()
		name, labels := fqName.FindStringSubmatch(s), varLabels.FindStringSubmatch(s)
		if name == nil || labels == nil {
			panic("unexpected description " + s)
		}
		r.names[name[1]] = strings.FieldsFunc(labels[1], func(c rune) bool { return c == ',' })
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		r.Register(c)
	}
}

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Datasource datasource `json:"datasource"`
			Definition string     `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string     `json:"title"`
	Type       string     `json:"type"`
	Datasource datasource `json:"datasource"`
	Targets    []struct {
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	UID string `json:"uid"`
}

// TestDashboardQueriesNameServedMetrics: every query of the provisioned
// dashboard names metrics `dangol serve` registers (or Prometheus's own
// up), with labels those metrics have, on the provisioned data source;
// and the dashboard covers what an operator at scale watches: read-model
// lag, append latency, live-feed subscribers and 4008 closes.
func TestDashboardQueriesNameServedMetrics(t *testing.T) {
	known := served(t)
	raw, err := os.ReadFile("dashboards/dangol.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboards/dangol.json: %v", err)
	}
	source, err := os.ReadFile("provisioning/datasources/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	uid := regexp.MustCompile(`(?m)^\s+uid: (\S+)$`).FindSubmatch(source)
	if uid == nil {
		t.Fatal("the provisioned data source has no uid")
	}
	var all []string
	for _, v := range d.Templating.List {
		// Grafana's label_values(selector, label) is checked as the
		// grouping it amounts to.
		lv := labelValues.FindStringSubmatch(v.Definition)
		if lv == nil {
			t.Fatalf("variable %q: want label_values(selector, label)", v.Definition)
		}
		checkQuery(t, "variable", "sum by ("+lv[2]+") ("+lv[1]+")", known)
		if v.Datasource.UID != string(uid[1]) {
			t.Errorf("variable: data source %q, want the provisioned %q", v.Datasource.UID, uid[1])
		}
	}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			checkQuery(t, p.Title, q.Expr, known)
			all = append(all, q.Expr)
			if p.Datasource.UID != string(uid[1]) || q.Datasource.UID != string(uid[1]) {
				t.Errorf("panel %q: data source %q/%q, want the provisioned %q", p.Title, p.Datasource.UID, q.Datasource.UID, uid[1])
			}
		}
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{"dangol_projection_lag_events", "dangol_projection_lag_seconds", "dangol_append_duration_seconds_bucket",
		"dangol_ws_connections", `dangol_ws_disconnects_total{reason="too_slow"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("no panel queries %s", want)
		}
	}
}

var (
	labelValues = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	grouping    = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matchers    = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}`)
	ranges      = regexp.MustCompile(`\[[^\]]*\]`)
	ident       = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`)
	labelKey    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// keywords are PromQL's binary operators and modifiers spelt as words (on
// and ignoring take their labels in parentheses, read as a function's).
var keywords = []string{"and", "or", "unless", "bool", "offset", "on", "ignoring", "group_left", "group_right"}

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = []string{"instance", "job"}

// checkQuery reports each metric of expr that dangol does not serve, and
// each label (in a selector or a grouping) that none of its metrics has.
func checkQuery(t *testing.T, where, expr string, known map[string][]string) {
	t.Helper()
	var labels []string
	for _, m := range matchers.FindAllStringSubmatch(expr, -1) {
		for _, k := range labelKey.FindAllStringSubmatch(m[2], -1) {
			labels = append(labels, k[1])
		}
	}
	rest := matchers.ReplaceAllString(expr, "$1 ")
	rest = quoted.ReplaceAllString(rest, " ")
	for _, g := range grouping.FindAllStringSubmatch(rest, -1) {
		labels = append(labels, strings.Fields(strings.ReplaceAll(g[1], ",", " "))...)
	}
	rest = ranges.ReplaceAllString(grouping.ReplaceAllString(rest, " "), " ")
	have := slices.Clone(targetLabels)
	names := 0
	for _, tok := range ident.FindAllString(rest, -1) {
		if strings.HasSuffix(tok, "(") || slices.Contains(keywords, strings.TrimSpace(tok)) {
			continue // a function or an operator
		}
		ls, ok := metricLabels(strings.TrimSpace(tok), known)
		if !ok {
			t.Errorf("%s: %q names %s, which dangol serve does not register", where, expr, tok)
			continue
		}
		names++
		have = append(have, ls...)
	}
	if names == 0 {
		t.Errorf("%s: %q names no metric", where, expr)
	}
	for _, l := range labels {
		if !slices.Contains(have, l) {
			t.Errorf("%s: %q uses the label %s, which its metrics do not have (they have %v)", where, expr, l, have)
		}
	}
}

// metricLabels returns the labels of the series name: a served metric, a
// histogram's _bucket (with le), _sum or _count, or Prometheus's up.
func metricLabels(name string, known map[string][]string) ([]string, bool) {
	if name == "up" {
		return nil, true
	}
	if ls, ok := known[name]; ok {
		return ls, true
	}
	if base, ok := strings.CutSuffix(name, "_bucket"); ok {
		ls, ok := known[base]
		return append(slices.Clone(ls), "le"), ok
	}
	for _, suffix := range []string{"_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			ls, ok := known[base]
			return ls, ok
		}
	}
	return nil, false
}

// TestAlertsNameServedMetrics: every alerting rule of the compose stack's
// Prometheus (ops/prometheus-alerts.yml, loaded by ops/prometheus.yml) names
// metrics and labels `dangol serve` registers.
func TestAlertsNameServedMetrics(t *testing.T) {
	known := served(t)
	raw, err := os.ReadFile("../prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	exprs := regexp.MustCompile(`(?m)^\s+expr: (.+)$`).FindAllStringSubmatch(string(raw), -1)
	alerts := regexp.MustCompile(`(?m)^\s+- alert: `).FindAllIndex(raw, -1)
	if len(exprs) == 0 || len(exprs) != len(alerts) {
		t.Fatalf("%d expressions for %d alerts", len(exprs), len(alerts))
	}
	for _, e := range exprs {
		checkQuery(t, "alert", e[1], known)
	}
	scrape, err := os.ReadFile("../prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(scrape), "- /etc/prometheus/alerts.yml") {
		t.Error("ops/prometheus.yml does not load the alerting rules")
	}
}

// TestComposeProvisionsGrafana: the compose stack mounts this directory
// where the provisioning looks for it, and Prometheus scrapes every dangol
// server of every profile (docker-compose.yml's own rendering is checked
// by ops/test.sh with docker-compose config).
func TestComposeProvisionsGrafana(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	compose, provider, scrape := read("../../docker-compose.yml"), read("provisioning/dashboards/dangol.yml"), read("../prometheus.yml")
	mount := regexp.MustCompile(`\./ops/grafana/dashboards:(\S+):ro`).FindStringSubmatch(compose)
	if mount == nil || !strings.Contains(provider, "path: "+mount[1]+"\n") {
		t.Errorf("the dashboards are mounted at %v; the provider reads %q", mount, provider)
	}
	if !strings.Contains(compose, "./ops/prometheus-alerts.yml:/etc/prometheus/alerts.yml:ro") {
		t.Error("docker-compose.yml does not mount the alerting rules where ops/prometheus.yml loads them")
	}
	if !strings.Contains(compose, "./ops/grafana/provisioning:/etc/grafana/provisioning:ro") {
		t.Error("docker-compose.yml does not mount ops/grafana/provisioning into Grafana")
	}
	for _, server := range []string{"dangol", "dangol-pg-a", "dangol-pg-b", "dangol-kdb"} {
		if !strings.Contains(compose, "\n  "+server+":") || !strings.Contains(scrape, `"`+server+`:9090"`) {
			t.Errorf("%s: a compose service Prometheus does not scrape (or no such service)", server)
		}
	}
}
