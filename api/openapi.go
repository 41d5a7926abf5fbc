package api

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the OpenAPI 3 document of what this server implements,
// maintained by hand next to the handlers. openapi_test.go holds it to the
// registered routes, their role sets and the Go types of bodies and answers.
//
//go:embed openapi.json
var openapiJSON []byte

// getOpenAPI serves the OpenAPI document; it needs no token.
func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openapiJSON)
}
