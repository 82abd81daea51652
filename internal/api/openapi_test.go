package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/openapi"
)

// loadSpec parses and validates openapi/openapi.yaml (the bytes the API
// serves at /openapi.yaml).
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	require.NoError(t, err, "openapi.yaml does not parse")
	require.NoError(t, doc.Validate(context.Background()), "openapi.yaml is not a valid OpenAPI 3.0 document")
	return doc
}

func TestOpenAPIIsValid(t *testing.T) {
	doc := loadSpec(t)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	// Every operation has an id, and ids are unique: client generators need both.
	seen := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if !assert.NotEmpty(t, op.OperationID, "%s has no operationId", where) {
				continue
			}
			if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("operationId %q is used by %s and %s", op.OperationID, prev, where)
			}
			seen[op.OperationID] = where
		}
	}
}

// ginParam turns gin's :name and *name into OpenAPI's {name}.
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_][A-Za-z0-9_]*)`)

// normalize maps a gin route path to the spec's form. A trailing slash is
// dropped: gin registers "/merchant/" as a second route for the same page
// (so both URLs work), which is one operation in the description.
func normalize(path string) string {
	path = ginParam.ReplaceAllString(path, "{$1}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return path
}

// TestOpenAPICoversEveryRoute compares the routes api.New mounts with the
// operations openapi.yaml describes, both ways.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadSpec(t)
	a := newAPI(t)

	mounted := map[string]bool{}
	for _, r := range a.srv.Engine.Routes() {
		mounted[r.Method+" "+normalize(r.Path)] = true
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}

	var undocumented, unmounted []string
	for r := range mounted {
		if !described[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range described {
		if !mounted[r] {
			unmounted = append(unmounted, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unmounted)
	if len(undocumented) > 0 {
		t.Errorf("mounted by api.New but missing from openapi/openapi.yaml (%d):\n  %s", len(undocumented), strings.Join(undocumented, "\n  "))
	}
	if len(unmounted) > 0 {
		t.Errorf("described in openapi/openapi.yaml but not mounted by api.New (%d):\n  %s", len(unmounted), strings.Join(unmounted, "\n  "))
	}
}

// TestOpenAPIErrorsAreProblems checks that every documented error of the
// JSON API is problem+json with the Problem schema.
func TestOpenAPIErrorsAreProblems(t *testing.T) {
	doc := loadSpec(t)
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				where := fmt.Sprintf("%s %s %s", method, path, status)
				mt := ref.Value.Content.Get("application/problem+json")
				if !assert.NotNil(t, mt, "%s: want application/problem+json", where) {
					continue
				}
				assert.Len(t, ref.Value.Content, 1, "%s: errors have one representation", where)
				assert.Contains(t, mt.Schema.Value.Required, "code", "%s: the schema must be Problem", where)
			}
		}
	}
}

// TestOpenAPIServedDocument checks /openapi.yaml serves this very file.
func TestOpenAPIServedDocument(t *testing.T) {
	a := newAPI(t)
	w := do(a.srv.Engine, http.MethodGet, "/openapi.yaml", "", "", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/yaml", w.Header().Get("Content-Type"))
	assert.Equal(t, string(openapi.Spec), w.Body.String())
}
