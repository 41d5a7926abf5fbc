package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// route is one registered endpoint, recorded by handle so that the OpenAPI
// document is built from exactly what is served.
type route struct {
	method, path string
	roles        []string
	body         any // a value of the request body's type, or nil
	summary      string
}

// bodies names the request body type of the writes, by pattern.
var bodies = map[string]any{
	"POST /v1/customers":                          events.CustomerRegistered{},
	"POST /v1/customers/{id}/profile":             events.ProfileChanged{},
	"POST /v1/customers/{id}/verifications":       events.ProfileVerified{},
	"POST /v1/customers/{id}/consents":            events.ConsentChanged{},
	"POST /v1/customers/{id}/life-events":         events.LifeEventRecorded{},
	"POST /v1/customers/{id}/contacts":            events.ContactLogged{},
	"POST /v1/customers/{id}/pitches":             events.ProductPitched{},
	"POST /v1/customers/{id}/requests":            events.CustomerRequestNoted{},
	"POST /v1/customers/{id}/assignment":          events.AdvisorAssigned{},
	"POST /v1/customers/{id}/erasure":             events.PersonalDataErased{},
	"POST /v1/calls":                              events.CallRecorded{},
	"POST /v1/calls/{id}/selection":               events.CallSelectedForReview{},
	"POST /v1/calls/{id}/reviews":                 reviewRequest{},
	"POST /v1/coaching/{pointId}/acknowledgement": events.CoachingAcknowledged{},
	"POST /v1/coaching/{pointId}/follow-up":       followUpRequest{},
	"POST /v1/staff":                              events.StaffRegistered{},
	"POST /v1/staff/{id}/tokens":                  tokenRequest{},
}

// responses names the success body type of the reads, by pattern.
var responses = map[string]any{
	"GET /v1/customers/{id}":          projections.CustomerView{},
	"GET /v1/calls/{id}":              projections.CallView{},
	"GET /v1/qa/queue":                projections.QueueItem{},
	"GET /v1/coaching":                projections.CoachingPoint{},
	"GET /v1/worklist":                projections.WorkItem{},
	"GET /v1/customers":               projections.CustomerSummary{},
	"GET /v1/audit/verify":            verifyResult{},
	"GET /v1/customers/{id}/timeline": TimelineItem{},
}

// query parameters by pattern.
var queryParams = map[string][]string{
	"GET /v1/customers/{id}":          {"as_of", "at_position"},
	"GET /v1/customers/{id}/timeline": {"limit", "before"},
	"GET /v1/customers":               {"advisor", "tier", "stale", "limit", "cursor"},
	"GET /v1/worklist":                {"advisor", "life_event_days", "no_contact_days"},
	"GET /v1/qa/queue":                {"supervisor"},
	"GET /v1/coaching":                {"rep", "status", "due_before", "checker"},
	"GET /v1/audit/streams/{stream}":  {"from_version", "limit"},
	"GET /v1/audit/log":               {"from_position", "limit"},
	"GET /v1/live":                    {"access_token"},
}

var pathParamRe = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// openAPI builds the OpenAPI 3 document of the registered routes.
func (s *Server) openAPI() []byte {
	paths := map[string]map[string]any{}
	for _, rt := range s.routesList {
		key := rt.method + " " + rt.path
		op := map[string]any{
			"summary":     rt.summary,
			"security":    []any{map[string]any{"bearerAuth": []string{}}},
			"description": "Roles: " + strings.Join(rt.roles, ", ") + ".",
		}
		var params []any
		for _, m := range pathParamRe.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range queryParams[key] {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
		}
		resp := map[string]any{
			"401": ref("Error"), "403": ref("Error"), "400": ref("Error"), "404": ref("Error"), "500": ref("Error"),
		}
		if rt.method == "POST" || rt.method == "PUT" || rt.method == "DELETE" {
			params = append(params,
				map[string]any{"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string", "description": "a ULID; becomes the event id"}},
				map[string]any{"name": "If-Match", "in": "header", "schema": map[string]any{"type": "string", "description": `the expected stream version, e.g. "3"`}})
			resp["201"] = map[string]any{"description": "appended", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/AppendResult"})}
			resp["409"], resp["413"], resp["503"] = ref("Error"), ref("Error"), ref("Error")
		} else {
			ok := map[string]any{"description": "ok"}
			if t, found := responses[key]; found {
				ok["content"] = jsonContent(schemaOf(reflect.TypeOf(t)))
			}
			resp["200"] = ok
		}
		if b, found := bodies[key]; found {
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(schemaOf(reflect.TypeOf(b)))}
		}
		if key == "PUT /v1/recordings" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"audio/*": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
			params = append(params, map[string]any{"name": "X-Content-SHA256", "in": "header", "schema": map[string]any{"type": "string"}})
		}
		if key == "GET /v1/live" {
			op["description"] = op["description"].(string) + " WebSocket: send {\"subscribe\": [\"customer:<id>\", \"advisor:<id>\", \"rep:<id>\", \"qa\", \"coaching\", \"log\"], \"fromPosition\": n}; " +
				"receive {position, stream, type, id, recordedAt, topics, data} per matching event in position order. Close codes: 4008 too slow, 4400 bad subscribe, 4403 forbidden topic."
			resp["101"] = map[string]any{"description": "switching protocols"}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		op["responses"] = resp
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	paths["/v1/openapi.json"] = map[string]any{"get": map[string]any{"summary": "this document", "security": []any{},
		"responses": map[string]any{"200": map[string]any{"description": "OpenAPI 3 document"}}}}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "dangol", "version": "1", "description": "Event-sourced customer-interaction ledger. See docs/api.md for deviations from shared/API.md."},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"type": "object", "properties": map[string]any{
					"code":    map[string]any{"type": "string", "enum": []string{"invalid", "unauthenticated", "forbidden", "not_found", "conflict", "too_large", "unavailable", "internal"}},
					"message": map[string]any{"type": "string"}, "details": map[string]any{"type": "object"}}}}},
				"AppendResult": schemaOf(reflect.TypeOf(events.AppendResult{})),
			},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func ref(name string) map[string]any {
	return map[string]any{"description": "error", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/" + name})}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

var timeType = reflect.TypeOf(time.Time{})
var positionType = reflect.TypeOf(events.Position{})

// schemaOf derives a JSON schema from a Go type's JSON encoding.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == positionType:
		return map[string]any{"oneOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint:
		return map[string]any{"type": "integer"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}

// getOpenAPI serves the OpenAPI 3 document of what this server implements,
// built from the registered routes.
func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapiDoc)
}
