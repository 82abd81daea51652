package httpapi_test

import (
	"testing"
	"time"

	"github.com/couponpop/couponpop/internal/derrors"
	"github.com/couponpop/couponpop/internal/httpapi"
)

// fuzzTarget has a field of every shape request bodies use, so the fuzzer
// reaches each of DecodeJSON's error paths: type errors on nested fields,
// the coordinate special case, time parsing, maps and pointers.
type fuzzTarget struct {
	Name     *string           `json:"name"`
	Count    int               `json:"count"`
	Small    int8              `json:"small"`
	Unsigned uint              `json:"unsigned"`
	Ratio    float64           `json:"ratio"`
	OK       bool              `json:"ok"`
	Lat      *float64          `json:"lat"`
	Lng      *float64          `json:"lng"`
	At       *time.Time        `json:"at"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Inner    *struct {
		Code  string `json:"code"`
		Level int    `json:"level"`
	} `json:"inner"`
}

// FuzzDecodeJSON checks that no body, however mangled, makes the decoder
// panic or produce anything but success or a client error: a 5xx from bad
// input would page someone for the client's mistake (DESIGN.md invariant 6).
//
// `go test` runs only the seeds; explore with
// `go test -run '^$' -fuzz FuzzDecodeJSON -fuzztime 30s ./internal/httpapi/`.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"카페 팝","count":3,"lat":37.5563,"lng":126.9236}`,
		`{"at":"2025-06-01T12:00:00+09:00","tags":["a","b"],"labels":{"k":"v"}}`,
		`{"inner":{"code":"X","level":1}}`,
		`{"inner":{"level":"high"}}`,
		`{"small":300}`,
		`{"unsigned":-1}`,
		`{"at":"yesterday"}`,
		`{"lat":"north"}`,
		`{"count":1e400}`,
		`{"nmae":1}`,
		`{"name":"a"}{"name":"b"}`,
		`{"name":"a"`,
		`[]`,
		`null`,
		`"text"`,
		``,
		" \t\n",
		"{\"name\":\"\xff\xfe\"}",
		`{"name":"\ud800"}`,
		`{"labels":{"a":1}}`,
		`{"tags":[1,2]}`,
		`{"ok":"yes"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzTarget
		err := httpapi.DecodeJSON(body, &v)
		if err == nil {
			return
		}
		e, ok := derrors.As(err)
		if !ok {
			t.Fatalf("DecodeJSON(%q) = %v (%T), want nil or a *derrors.Error", body, err, err)
		}
		if s := e.Kind.Status(); s < 400 || s > 499 {
			t.Fatalf("DecodeJSON(%q) = %v with status %d, want a 4xx", body, err, s)
		}
		if e.Code == "" || e.Detail == "" {
			t.Fatalf("DecodeJSON(%q) = %#v, want a code and a detail", body, e)
		}
	})
}
