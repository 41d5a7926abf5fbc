package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/projections"
)

// openapiDoc is the part of an OpenAPI 3 document the tests read.
type openapiDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Security   []map[string][]string           `json:"security"`
	Paths      map[string]map[string]openapiOp `json:"paths"`
	Components struct {
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
		Parameters      map[string]openapiParam   `json:"parameters"`
		Responses       map[string]any            `json:"responses"`
		Schemas         map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type openapiOp struct {
	OperationID string                `json:"operationId"`
	Roles       []string              `json:"x-roles"`
	Security    *[]map[string][]any   `json:"security"`
	Parameters  []openapiParam        `json:"parameters"`
	RequestBody *openapiBody          `json:"requestBody"`
	Responses   map[string]openapiRef `json:"responses"`
}

type openapiParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openapiBody struct {
	Required bool `json:"required"`
	Content  map[string]struct {
		Schema openapiRef `json:"schema"`
	} `json:"content"`
}

type openapiRef struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema openapiRef `json:"schema"`
	} `json:"content"`
}

func loadOpenAPI(t *testing.T) (openapiDoc, map[string]any) {
	t.Helper()
	var doc openapiDoc
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(openapiJSON, &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// unauthenticated are the routes served without a token, with what each
// answers a bare server (New(Config{})).
var unauthenticated = map[string]int{"GET /v1/openapi.json": http.StatusOK, "GET /v1/audit/key": http.StatusServiceUnavailable}

// registered returns "METHOD /path" → roles of every route the server
// registers, including the unauthenticated ones (roles nil).
func registered() map[string][]string {
	got := map[string][]string{}
	for k := range unauthenticated {
		got[k] = nil
	}
	s := &Server{mux: http.NewServeMux()}
	s.routes(func(pattern string, roles []string, _ handlerFunc) { got[pattern] = roles })
	return got
}

// TestOpenAPIRoutes: the document's operations are exactly the registered
// routes, each with the role set the route enforces, its path parameters,
// the write headers, a request body where one is read, and the statuses it
// answers; and the served mux agrees (no token: 401; the document: 200).
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	if doc.Components.SecuritySchemes["bearerAuth"]["scheme"] != "bearer" ||
		len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Fatalf("bearerAuth is not the default security: %v %v", doc.Components.SecuritySchemes, doc.Security)
	}
	routes := registered()
	documented := map[string]openapiOp{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	for _, k := range slices.Sorted(maps.Keys(routes)) {
		if _, ok := documented[k]; !ok {
			t.Errorf("%s is served but not documented", k)
		}
	}
	paramRe := regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
	opIDs := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		op := documented[k]
		roles, ok := routes[k]
		if !ok {
			t.Errorf("%s is documented but not served", k)
			continue
		}
		if op.OperationID == "" || opIDs[op.OperationID] {
			t.Errorf("%s: operationId %q missing or repeated", k, op.OperationID)
		}
		opIDs[op.OperationID] = true
		method, path, _ := strings.Cut(k, " ")
		if _, ok := unauthenticated[k]; ok {
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s must override security with [] (no token needed)", k)
			}
			continue
		}
		if op.Security != nil {
			t.Errorf("%s overrides the bearerAuth security", k)
		}
		if !sameSet(op.Roles, roles) {
			t.Errorf("%s: x-roles %v, the route allows %v", k, op.Roles, roles)
		}
		var pathParams, headers []string
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			switch p.In {
			case "path":
				pathParams = append(pathParams, p.Name)
			case "header":
				headers = append(headers, p.Name)
			}
		}
		var want []string
		for _, m := range paramRe.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		if !sameSet(pathParams, want) {
			t.Errorf("%s: path parameters %v, want %v", k, pathParams, want)
		}
		for _, status := range []string{"401", "403"} {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s documents no %s", k, status)
			}
		}
		switch method {
		case "POST", "DELETE":
			if k == "POST /v1/campaigns/preview" { // appends nothing: 200, no write headers
				if _, ok := op.Responses["200"]; !ok || op.RequestBody == nil {
					t.Errorf("%s documents no 200 or no request body", k)
				}
				continue
			}
			for _, h := range []string{"Idempotency-Key", "If-Match"} {
				if !slices.Contains(headers, h) {
					t.Errorf("%s does not document the %s header", k, h)
				}
			}
			for _, status := range []string{"201", "400", "409"} {
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s documents no %s", k, status)
				}
			}
			if method == "POST" && op.RequestBody == nil {
				t.Errorf("%s documents no request body", k)
			}
		case "PUT":
			if op.RequestBody == nil || op.Responses["201"].Content == nil || op.Responses["413"].Ref == "" {
				t.Errorf("%s: upload body, 201 or 413 undocumented", k)
			}
		case "GET":
			if _, ok := op.Responses["200"]; !ok && k != "GET /v1/live" {
				t.Errorf("%s documents no 200", k)
			}
		}
	}

	// The served mux agrees with the document.
	h := New(Config{}).Handler()
	concrete := strings.NewReplacer("{id}", "C1", "{pointId}", "P1", "{sha256}", strings.Repeat("a", 64),
		"{name}", "tiers", "{stream}", "customer-C1", "{tokenId}", "T1")
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		method, path, _ := strings.Cut(k, " ")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, concrete.Replace(path), strings.NewReader("{}")))
		want := http.StatusUnauthorized
		if st, ok := unauthenticated[k]; ok {
			want = st
		}
		if rec.Code != want {
			t.Errorf("%s answered %d without a token, want %d", k, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if rec.Body.String() != string(openapiJSON) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /v1/openapi.json does not serve the embedded document")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/not-a-route", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("an undocumented path answered %d, want 404", rec.Code)
	}
}

// TestOpenAPISchemas: every $ref resolves; the request bodies are the types
// the handlers decode, closed to unknown fields as the decoder is; and
// every schema named after a Go type has exactly that type's JSON fields.
func TestOpenAPISchemas(t *testing.T) {
	doc, raw := loadOpenAPI(t)
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok && resolve(raw, r) == nil {
				t.Errorf("%s: $ref %s does not resolve", at, r)
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(at, x)
			}
		}
	}
	walk("#", raw)

	// The body each write decodes (routes.go and the handlers).
	bodies := map[string]string{
		"POST /v1/customers":                          "CustomerRegistered",
		"POST /v1/customers/{id}/profile":             "ProfileChanged",
		"POST /v1/customers/{id}/verifications":       "ProfileVerified",
		"POST /v1/customers/{id}/consents":            "ConsentChanged",
		"POST /v1/customers/{id}/life-events":         "LifeEventRecorded",
		"POST /v1/customers/{id}/contacts":            "ContactLogged",
		"POST /v1/customers/{id}/pitches":             "ProductPitched",
		"POST /v1/customers/{id}/requests":            "CustomerRequestNoted",
		"POST /v1/customers/{id}/assignment":          "AdvisorAssigned",
		"POST /v1/customers/{id}/erasure":             "PersonalDataErased",
		"POST /v1/customers/{id}/merges":              "MergeRequest",
		"POST /v1/calls":                              "CallRecorded",
		"POST /v1/calls/{id}/selection":               "CallSelectedForReview",
		"POST /v1/calls/{id}/reviews":                 "ReviewRequest",
		"POST /v1/coaching/{pointId}/acknowledgement": "CoachingAcknowledged",
		"POST /v1/coaching/{pointId}/follow-up":       "FollowUpRequest",
		"POST /v1/staff":                              "StaffRegistered",
		"POST /v1/staff/{id}/tokens":                  "TokenRequest",
		"POST /v1/staff/{id}/setup-codes":             "SetupCodeRequest",
		"POST /v1/staff/{id}/deactivation":            "ReasonRequest",
		"POST /v1/staff/{id}/second-factor/reset":     "ReasonRequest",
		"PUT /v1/signin-policy":                       "SecondFactorPolicySet",
		"PUT /v1/qa/forms/{id}":                       "FormRequest",
		"POST /v1/audit/access/check/sign-off":        "SignOffRequest",

		// An evaluation's acknowledgement and dispute, a dispute's resolution.
		"POST /v1/calls/{id}/evaluations/{n}/acknowledgement": "EvaluationAckRequest",
		"POST /v1/calls/{id}/evaluations/{n}/dispute":         "DisputeRequest",
		"POST /v1/qa/disputes/{id}/resolution":                "ResolutionRequest",

		// Campaigns.
		"POST /v1/campaigns":                 "CampaignLaunched",
		"POST /v1/campaigns/preview":         "CampaignPreviewRequest",
		"POST /v1/campaigns/{id}/amendments": "CampaignAmended",
		"POST /v1/campaigns/{id}/closure":    "CampaignClosed",
	}
	// The success answer of the routes whose handler writes a Go type.
	answers := map[string]string{
		"POST /v1/customers":               "AppendResult",
		"GET /v1/customers/{id}":           "CustomerView",
		"POST /v1/customers/{id}/merges":   "MergeResult",
		"GET /v1/duplicates":               "DuplicatePage",
		"GET /v1/duplicates/withheld":      "WithheldValues",
		"GET /v1/search/customers":         "CustomerSearch",
		"GET /v1/audit/verify":             "VerifyResult",
		"GET /v1/audit/access/check":       "AccessCheck",
		"GET /v1/audit/key":                "AuditKey",
		"GET /v1/audit/seals":              "SealsPage",
		"GET /v1/audit/seals/latest":       "LatestSeal",
		"GET /v1/audit/proofs/inclusion":   "InclusionProof",
		"GET /v1/audit/proofs/consistency": "ConsistencyProof",
		"GET /v1/customers/{id}/timeline":  "TimelinePage",
		"GET /v1/calls/{id}":               "CallDetail",
		"GET /v1/qa/queue":                 "QueuePage",
		"GET /v1/qa/forms/{id}":            "ScorecardForm",
		"GET /v1/coaching":                 "CoachingPage",
		"GET /v1/campaigns/{id}":           "Campaign",
		"GET /v1/reports/campaigns/{id}":   "CampaignReport",
	}
	for k, name := range bodies {
		method, path, _ := strings.Cut(k, " ")
		rb := doc.Paths[path][strings.ToLower(method)].RequestBody
		if rb == nil || rb.Content["application/json"].Schema.Ref != "#/components/schemas/"+name {
			t.Errorf("%s: request body is not #/components/schemas/%s", k, name)
			continue
		}
		if optional := k == "POST /v1/staff/{id}/tokens" || name == "SetupCodeRequest" || name == "ReasonRequest"; rb.Required == optional {
			t.Errorf("%s: requestBody.required is %v", k, rb.Required)
		}
		if doc.Components.Schemas[name]["additionalProperties"] != false {
			t.Errorf("schema %s: the server refuses unknown fields; say additionalProperties: false", name)
		}
	}
	for k, name := range answers {
		method, path, _ := strings.Cut(k, " ")
		ok := doc.Paths[path][strings.ToLower(method)].Responses["200"]
		if method == "POST" {
			ok = doc.Paths[path][strings.ToLower(method)].Responses["201"]
			ok = *resolveResponse(t, raw, ok)
		}
		if got := ok.Content["application/json"].Schema.Ref; got != "#/components/schemas/"+name {
			t.Errorf("%s: answer schema %q, want %s", k, got, name)
		}
	}

	// Schemas named after Go types (including the API's own).
	types := map[string]any{
		"Error":                     errorBody{},
		"AppendResult":              events.AppendResult{},
		"Actor":                     events.Actor{},
		"Envelope":                  events.Envelope{},
		"Source":                    events.Source{},
		"CustomerRegistered":        events.CustomerRegistered{},
		"ProfileChanged":            events.ProfileChanged{},
		"ProfileVerified":           events.ProfileVerified{},
		"ConsentChanged":            events.ConsentChanged{},
		"LifeEventRecorded":         events.LifeEventRecorded{},
		"AdvisorAssigned":           events.AdvisorAssigned{},
		"ContactLogged":             events.ContactLogged{},
		"ProductPitched":            events.ProductPitched{},
		"CustomerRequestNoted":      events.CustomerRequestNoted{},
		"PersonalDataErased":        events.PersonalDataErased{},
		"MergeRequest":              MergeRequest{},
		"MergeResult":               MergeResult{},
		"DuplicatePage":             DuplicatePage{},
		"WithheldValues":            projections.WithheldValues{},
		"WithheldGroup":             projections.WithheldGroup{},
		"DuplicatePair":             DuplicatePair{},
		"DuplicateCustomer":         DuplicateCustomer{},
		"Recording":                 events.Recording{},
		"RecordingRef":              events.Recording{},
		"CallRecorded":              events.CallRecorded{},
		"CallSelectedForReview":     events.CallSelectedForReview{},
		"ReviewedItem":              events.ReviewItem{},
		"ReviewRequest":             reviewRequest{},
		"ScoreInput":                scoreInput{},
		"CoachingPointRequest":      pointInput{},
		"EvaluationAckRequest":      ackRequest{},
		"DisputeRequest":            disputeRequest{},
		"ResolutionRequest":         resolutionRequest{},
		"Dispute":                   projections.Dispute{},
		"CoachingAcknowledged":      events.CoachingAcknowledged{},
		"FollowUpRequest":           followUpRequest{},
		"StaffRegistered":           events.StaffRegistered{},
		"TokenRequest":              tokenRequest{},
		"SetupCodeRequest":          setupCodeRequest{},
		"ReasonRequest":             reasonRequest{},
		"SecondFactorPolicySet":     events.SecondFactorPolicySet{},
		"FormItem":                  events.FormItem{},
		"FormRequest":               formRequest{},
		"ScorecardForm":             projections.ScorecardForm{},
		"SamplingPlan":              projections.SamplingPlan{},
		"SamplingPlanAnswer":        samplingPlanAnswer{},
		"SamplingPlanRequest":       planRequest{},
		"CalibrationRequest":        calibrationRequest{},
		"CalibrationScoreRequest":   scoreRequest{},
		"CalibrationClosureRequest": closureRequest{},
		"CalibrationSession":        projections.CalibrationSession{},
		"CalibrationScore":          projections.CalibrationScore{},
		"ItemSpread":                projections.ItemSpread{},
		"TierBasis":                 projections.TierBasis{},
		"Advisor":                   projections.Advisor{},
		"Consent":                   projections.Consent{},
		"Holding":                   projections.Holding{},
		"Financials":                projections.Financials{},
		"LifeEvent":                 projections.LifeEvent{},
		"TimelineEntry":             projections.TimelineEntry{},
		"PitchOutcome":              projections.PitchOutcome{},
		"Request":                   projections.Request{},
		"FieldProvenance":           projections.FieldProvenance{},
		"Claim":                     projections.Claim{},
		"CustomerView":              projections.CustomerView{},
		"CustomerSummary":           projections.CustomerSummary{},
		"CustomerSearch":            customerSearch{},
		"TimelineItem":              TimelineItem{},
		"WorkItem":                  projections.WorkItem{},
		"Selection":                 projections.Selection{},
		"Review":                    projections.Review{},
		"CallView":                  projections.CallView{},
		"FollowUpResult":            projections.FollowUpResult{},
		"CoachingPoint":             projections.CoachingPoint{},
		"QueueItem":                 projections.QueueItem{},
		"ShareOfTop":                projections.ShareOfTop{},
		"TierReport":                projections.TierReport{},
		"Conversion":                projections.Conversion{},
		"QAScore":                   projections.QAScore{},
		"RepCoaching":               projections.RepCoaching{},
		"CoachingReport":            projections.CoachingReport{},
		"Freshness":                 projections.Freshness{},
		"RequestWeek":               projections.RequestWeek{},
		"BadEvent":                  BadEvent{},
		"VerifyResult":              VerifyResult{},
		"AuditKey":                  AuditKey{},
		"Seal":                      seal.Seal{},
		"SealsPage":                 sealsPage{},
		"WitnessStatus":             seal.WitnessStatus{},
		"LatestSeal":                LatestSeal{},
		"InclusionProof":            InclusionProof{},
		"ConsistencyProof":          ConsistencyProof{},
		"ExportManifest":            export.Manifest{},
		"AccessEntry":               accessEntry{},
		"AccessCheck":               AccessCheck{},
		"StaffAccess":               StaffAccess{},
		"AccessSignOff":             AccessSignOff{},
		"SignOffRequest":            signOffRequest{},
		"LiveSubscribe":             subscribeMsg{},
		"LiveMessage":               liveMsg{},
		"CampaignCriteria":          events.CampaignCriteria{},
		"CampaignLaunched":          events.CampaignLaunched{},
		"CampaignAmended":           events.CampaignAmended{},
		"CampaignClosed":            events.CampaignClosed{},
		"CampaignPreviewRequest":    previewRequest{},
		"CampaignPreview":           projections.CampaignPreview{},
		"Campaign":                  projections.Campaign{},
		"CampaignTarget":            projections.CampaignTarget{},
		"CampaignFunnel":            projections.CampaignFunnel{},
		"FunnelRow":                 projections.FunnelRow{},
		"CampaignLift":              projections.CampaignLift{},
		"CampaignReport":            projections.CampaignReport{},
		"TierMonth":                 projections.TierMonth{},
		"TierCell":                  projections.TierCell{},
	}
	// Answers the handlers build as maps: their fields are checked end to
	// end against real answers (cmd/dangol's serve tests).
	mapAnswers := []string{"Position", "CustomerPage", "TimelinePage", "Worklist", "CallDetail", "QueuePage", "CoachingPage",
		"Report", "PitchReport", "QAReport", "FreshnessReport", "RequestReport", "AuditStream", "AuditLog",
		"RecordingStored", "TokenIssuedResult", "SetupCodeIssued", "AccessPage",
		"ScorecardFormPage", "CalibrationOpenedResult", "CalibrationPage", "DisputeRaised", "EvaluationsPage", "DisputesPage",
		"CampaignLaunchedResult", "CampaignPage", "CampaignTargetPage", "TierMigrationReport"}
	for name := range doc.Components.Schemas {
		if _, ok := types[name]; !ok && !slices.Contains(mapAnswers, name) {
			t.Errorf("schema %s is neither tied to a Go type nor listed as a map answer", name)
		}
	}
	for name, v := range types {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		checkSchema(t, raw, name, s, reflect.TypeOf(v))
	}
}

func resolve(raw map[string]any, ref string) map[string]any {
	var cur any = raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func resolveResponse(t *testing.T, raw map[string]any, r openapiRef) *openapiRef {
	t.Helper()
	if r.Ref == "" {
		return &r
	}
	b, _ := json.Marshal(resolve(raw, r.Ref))
	var out openapiRef
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	positionType = reflect.TypeOf(events.Position{})
	ulidType     = reflect.TypeOf(ulid.ULID{})
	hashType     = reflect.TypeOf(events.Hash{})
	rawType      = reflect.TypeOf(json.RawMessage{})
)

// checkSchema compares a schema with the JSON encoding of a Go type: the
// same property names at every level, and compatible types.
func checkSchema(t *testing.T, raw map[string]any, at string, s map[string]any, typ reflect.Type) {
	t.Helper()
	// A nullable reference is {type, allOf: [$ref], nullable} in OpenAPI
	// 3.0 (a $ref takes no siblings): its one allOf entry is the schema.
	for s["$ref"] != nil || (s["allOf"] != nil && (s["type"] == nil || s["properties"] == nil && len(s["allOf"].([]any)) == 1)) {
		if r, ok := s["$ref"].(string); ok {
			if typ == positionType || typ.Kind() == reflect.Pointer && typ.Elem() == positionType {
				if r != "#/components/schemas/Position" {
					t.Errorf("%s: a position is #/components/schemas/Position, not %s", at, r)
				}
				return
			}
			s = resolve(raw, r)
			continue
		}
		s = s["allOf"].([]any)[0].(map[string]any)
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := ""
	switch {
	case typ == timeType:
		if s["type"] != "string" || s["format"] != "date-time" {
			t.Errorf("%s: a time is {type: string, format: date-time}, not %v", at, s)
		}
		return
	case typ == positionType:
		t.Errorf("%s: a position is #/components/schemas/Position", at)
		return
	case typ == ulidType || typ == hashType:
		want = "string"
	case typ == rawType || typ.Kind() == reflect.Interface:
		if s["type"] != nil && s["type"] != "object" {
			t.Errorf("%s: event data is an object, not %v", at, s["type"])
		}
		return
	}
	if want == "" {
		switch typ.Kind() {
		case reflect.String:
			want = "string"
		case reflect.Bool:
			want = "boolean"
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint:
			want = "integer"
		case reflect.Float64, reflect.Float32:
			want = "number"
		case reflect.Slice, reflect.Array:
			want = "array"
		case reflect.Map, reflect.Struct:
			want = "object"
		}
	}
	if s["type"] != want {
		t.Errorf("%s: schema type %v, the Go type %s encodes as %s", at, s["type"], typ, want)
		return
	}
	switch typ.Kind() {
	case reflect.Slice, reflect.Array:
		if want == "array" {
			items, _ := s["items"].(map[string]any)
			checkSchema(t, raw, at+"[]", items, typ.Elem())
		}
	case reflect.Map:
		ap, _ := s["additionalProperties"].(map[string]any)
		if ap == nil {
			t.Errorf("%s: a map needs additionalProperties with the value schema", at)
			return
		}
		checkSchema(t, raw, at+"{}", ap, typ.Elem())
	case reflect.Struct:
		props, _ := s["properties"].(map[string]any)
		fields := jsonFields(typ)
		if !sameSet(slices.Collect(maps.Keys(props)), slices.Collect(maps.Keys(fields))) {
			t.Errorf("%s: properties %v, the Go type %s has %v", at, slices.Sorted(maps.Keys(props)), typ, slices.Sorted(maps.Keys(fields)))
		}
		for _, r := range asStrings(s["required"]) {
			if _, ok := props[r]; !ok {
				t.Errorf("%s: required %q is not a property", at, r)
			}
		}
		for name, f := range fields {
			if p, ok := props[name].(map[string]any); ok {
				checkSchema(t, raw, at+"."+name, p, f)
			}
		}
	}
}

func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(f.Type)) // encoding/json promotes an embedded struct's fields
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b)) && len(a) == len(b)
}
