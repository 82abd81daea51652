package awsmodel_test

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/couponpop/couponpop/deploy/internal/awsmodel"
)

// A tiny model in botocore's format exercising every rule the validator has.
const tinyModel = `{
  "metadata": {"protocol": "json", "serviceId": "Tiny"},
  "operations": {"PutThing": {"name": "PutThing", "input": {"shape": "PutThingRequest"}}},
  "shapes": {
    "PutThingRequest": {"type": "structure", "required": ["name", "size"], "members": {
      "name": {"shape": "Name"},
      "size": {"shape": "Size"},
      "big": {"shape": "Long"},
      "ratio": {"shape": "Ratio"},
      "on": {"shape": "Bool"},
      "mode": {"shape": "Mode"},
      "tags": {"shape": "Tags"},
      "labels": {"shape": "Labels"},
      "when": {"shape": "When"},
      "choice": {"shape": "Choice"},
      "old": {"shape": "Name", "deprecated": true},
      "anything": {"shape": "Doc"},
      "code": {"shape": "Code"},
      "printable": {"shape": "Printable"}
    }},
    "Name": {"type": "string", "min": 1, "max": 8},
    "Size": {"type": "integer", "min": 1, "max": 100},
    "Long": {"type": "long"},
    "Ratio": {"type": "double", "min": 0, "max": 1},
    "Bool": {"type": "boolean"},
    "Mode": {"type": "string", "enum": ["fast", "slow"]},
    "Tags": {"type": "list", "member": {"shape": "Tag"}, "max": 2},
    "Tag": {"type": "structure", "required": ["key"], "members": {"key": {"shape": "Name"}, "value": {"shape": "Name"}}},
    "Labels": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Size"}},
    "When": {"type": "timestamp"},
    "Choice": {"type": "structure", "union": true, "members": {"a": {"shape": "Name"}, "b": {"shape": "Size"}}},
    "Doc": {"type": "structure", "members": {}, "document": true},
    "Code": {"type": "string", "pattern": "[a-z]+-\\d{2}"},
    "Printable": {"type": "string", "pattern": "\\p{Print}+"}
  }
}`

func loadTiny(t *testing.T) *awsmodel.Model {
	t.Helper()
	m, err := awsmodel.Parse(strings.NewReader(tinyModel))
	require.NoError(t, err)
	return m
}

func TestValidateAcceptsGoodInput(t *testing.T) {
	m := loadTiny(t)
	doc, err := awsmodel.Decode([]byte(`{
	  "name": "thing", "size": 3, "big": 9007199254740993, "ratio": 0.5, "on": true,
	  "mode": "fast", "tags": [{"key": "k", "value": "v"}], "labels": {"a": 1},
	  "when": "2026-01-02T03:04:05Z", "choice": {"a": "x"},
	  "anything": {"free": ["form", 1, null]}, "code": "ab-12", "printable": "Hello world"
	}`))
	require.NoError(t, err)
	errs := m.Validate("PutThing", doc)
	assert.Empty(t, errs, "got %v, want no findings", errs)
}

func TestValidateRejectsBadInput(t *testing.T) {
	m := loadTiny(t)
	tests := []struct {
		name     string
		doc      string
		wantPath string
		wantMsg  string
	}{
		{"unknown member", `{"name":"a","size":1,"colour":"red"}`, "colour", "unknown member"},
		{"mis-cased member", `{"name":"a","size":1,"Mode":"fast"}`, "Mode", `did you mean "mode"`},
		{"missing required", `{"name":"a"}`, "size", "required member"},
		{"nested missing required", `{"name":"a","size":1,"tags":[{"value":"v"}]}`, "tags[0].key", "required member"},
		{"string for integer", `{"name":"a","size":"1"}`, "size", "want integer"},
		{"fraction for integer", `{"name":"a","size":1.5}`, "size", "want integer"},
		{"integer overflow", `{"name":"a","size":1,"labels":{"x":4294967296}}`, "labels.x", "overflows"},
		{"number for string", `{"name":7,"size":1}`, "name", "want string"},
		{"string for boolean", `{"name":"a","size":1,"on":"true"}`, "on", "want boolean"},
		{"object for list", `{"name":"a","size":1,"tags":{"key":"k"}}`, "tags", "want array"},
		{"list for map", `{"name":"a","size":1,"labels":[1]}`, "labels", "want object"},
		{"bad enum", `{"name":"a","size":1,"mode":"bogus"}`, "mode", `"bogus" is not one of Mode`},
		{"string too short", `{"name":"","size":1}`, "name", "below minimum"},
		{"string too long", `{"name":"abcdefghi","size":1}`, "name", "above maximum"},
		{"integer too big", `{"name":"a","size":101}`, "size", "above maximum"},
		{"double too small", `{"name":"a","size":1,"ratio":-0.1}`, "ratio", "below minimum"},
		{"list too long", `{"name":"a","size":1,"tags":[{"key":"a"},{"key":"b"},{"key":"c"}]}`, "tags", "above maximum"},
		{"map key too long", `{"name":"a","size":1,"labels":{"abcdefghi":1}}`, "labels.abcdefghi (key)", "above maximum"},
		{"bad timestamp", `{"name":"a","size":1,"when":"yesterday"}`, "when", "RFC 3339"},
		{"union with two members", `{"name":"a","size":1,"choice":{"a":"x","b":1}}`, "choice", "exactly one"},
		{"deprecated member", `{"name":"a","size":1,"old":"x"}`, "old", "deprecated"},
		{"null member", `{"name":"a","size":null}`, "size", "null"},
		{"pattern mismatch", `{"name":"a","size":1,"code":"AB-12"}`, "code", "pattern"},
		{"pattern is anchored", `{"name":"a","size":1,"code":"xab-12"}`, "", ""},
		{"java posix class", `{"name":"a","size":1,"printable":"tab\there"}`, "printable", "pattern"},
		{"root not an object", `[]`, "", "want object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := awsmodel.Decode([]byte(tt.doc))
			require.NoError(t, err)
			errs := m.Validate("PutThing", doc)
			if tt.wantMsg == "" { // a valid document, kept to pin down a rule
				assert.Empty(t, errs, "got %v, want no findings", errs)
				return
			}
			require.NotEmpty(t, errs, "got no findings, want %q at %q", tt.wantMsg, tt.wantPath)
			found := false
			for _, e := range errs {
				if e.Path == tt.wantPath && strings.Contains(e.Msg, tt.wantMsg) {
					found = true
				}
			}
			assert.True(t, found, "got %v, want %q at %q", errs, tt.wantMsg, tt.wantPath)
		})
	}
}

func TestDecodeRefusesWhatEncodingJSONWouldHide(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"duplicate key", `{"a":1,"a":2}`, "duplicate key"},
		{"nested duplicate key", `{"a":{"b":1,"b":1}}`, "duplicate key"},
		{"trailing data", `{"a":1} {"b":2}`, "trailing data"},
		{"placeholder outside a string", `{"desiredCount": ${COUNT}}`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsmodel.Decode([]byte(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want, "got %v, want an error containing %q", err, tt.want)
		})
	}
}

func TestValidateUnknownOperation(t *testing.T) {
	m := loadTiny(t)
	errs := m.Validate("DeleteThing", map[string]any{})
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Msg, `no operation "DeleteThing"`)
}

func TestLoadPicksNewestVersionAndReadsGzip(t *testing.T) {
	dir := t.TempDir()
	write := func(version string, gz bool, model string) {
		d := filepath.Join(dir, "tiny", version)
		require.NoError(t, os.MkdirAll(d, 0o755))
		if !gz {
			require.NoError(t, os.WriteFile(filepath.Join(d, "service-2.json"), []byte(model), 0o644))
			return
		}
		f, err := os.Create(filepath.Join(d, "service-2.json.gz"))
		require.NoError(t, err)
		w := gzip.NewWriter(f)
		_, err = w.Write([]byte(model))
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
	}
	write("2014-02-03", false, `{"operations":{"Old":{"name":"Old"}},"shapes":{"X":{"type":"string"}}}`)
	write("2015-10-07", true, tinyModel)

	m, err := awsmodel.Load(dir, "tiny")
	require.NoError(t, err)
	assert.Equal(t, "2015-10-07", m.APIVersion, "got API version %s, want the newest", m.APIVersion)
	_, err = m.InputShape("PutThing")
	assert.NoError(t, err)

	_, err = awsmodel.Load(dir, "absent")
	assert.Error(t, err)
}
