package awsmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is one finding, at a JSON path such as
// containerDefinitions[0].portMappings[0].containerPort.
type Error struct {
	Path string
	Msg  string
}

func (e Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Decode parses JSON the way the validator wants it: numbers as json.Number
// (so 8080 and 8080.5 stay distinguishable), duplicate object keys refused
// (encoding/json would silently keep the last one), nothing after the value.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, "")
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, path string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", orRoot(path), err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%s: %w", orRoot(path), err)
				}
				k := kt.(string)
				if _, dup := obj[k]; dup {
					return nil, fmt.Errorf("%s: duplicate key %q", orRoot(path), k)
				}
				v, err := decodeValue(dec, joinPath(path, k))
				if err != nil {
					return nil, err
				}
				obj[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%s: %w", orRoot(path), err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for i := 0; dec.More(); i++ {
				v, err := decodeValue(dec, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%s: %w", orRoot(path), err)
			}
			return arr, nil
		}
		return nil, fmt.Errorf("%s: unexpected %v", orRoot(path), t)
	default:
		return t, nil // string, json.Number, bool, nil
	}
}

// Validate checks doc against the input shape of operation.
func (m *Model) Validate(operation string, doc any) []Error {
	shape, err := m.InputShape(operation)
	if err != nil {
		return []Error{{Msg: err.Error()}}
	}
	return m.ValidateShape(shape, doc)
}

// ValidateShape checks doc against the named shape.
func (m *Model) ValidateShape(shape string, doc any) []Error {
	v := validator{m: m}
	v.value(&Ref{Shape: shape}, "", doc)
	return v.errs
}

type validator struct {
	m    *Model
	errs []Error
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) value(ref *Ref, path string, doc any) {
	s, ok := v.m.Shapes[ref.Shape]
	if !ok {
		v.fail(path, "model has no shape %q", ref.Shape)
		return
	}
	if doc == nil {
		v.fail(path, "null is not a %s (%s); leave the member out instead", s.Type, ref.Shape)
		return
	}
	if s.Document {
		return // free-form JSON
	}
	switch s.Type {
	case "structure":
		v.structure(ref.Shape, s, path, doc)
	case "list":
		v.list(ref.Shape, s, path, doc)
	case "map":
		v.mapping(ref.Shape, s, path, doc)
	case "string":
		v.str(ref.Shape, s, path, doc)
	case "integer", "long":
		v.integer(ref.Shape, s, path, doc)
	case "float", "double":
		v.float(ref.Shape, s, path, doc)
	case "boolean":
		if _, ok := doc.(bool); !ok {
			v.fail(path, "want boolean, got %s", jsonType(doc))
		}
	case "timestamp":
		v.timestamp(path, doc)
	case "blob":
		if _, ok := doc.(string); !ok {
			v.fail(path, "want base64 string (blob), got %s", jsonType(doc))
		}
	default:
		v.fail(path, "shape %q has unsupported type %q", ref.Shape, s.Type)
	}
}

func (v *validator) structure(name string, s *Shape, path string, doc any) {
	obj, ok := doc.(map[string]any)
	if !ok {
		v.fail(path, "want object (%s), got %s", name, jsonType(doc))
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mref, ok := s.Members[k]
		if !ok {
			v.fail(joinPath(path, k), "unknown member of %s%s", name, suggest(k, s.Members))
			continue
		}
		if mref.Deprecated || v.m.Shapes[mref.Shape] != nil && v.m.Shapes[mref.Shape].Deprecated {
			v.fail(joinPath(path, k), "member of %s is deprecated", name)
		}
		v.value(mref, joinPath(path, k), obj[k])
	}
	for _, r := range s.Required {
		if _, ok := obj[r]; !ok {
			v.fail(joinPath(path, r), "required member of %s is missing", name)
		}
	}
	if s.Union && len(obj) != 1 {
		v.fail(path, "%s is a union: set exactly one member, got %d", name, len(obj))
	}
}

func (v *validator) list(name string, s *Shape, path string, doc any) {
	arr, ok := doc.([]any)
	if !ok {
		v.fail(path, "want array (%s), got %s", name, jsonType(doc))
		return
	}
	v.bounds(path, "items", float64(len(arr)), s)
	if s.Member == nil {
		v.fail(path, "list shape %q has no member shape", name)
		return
	}
	for i, item := range arr {
		v.value(s.Member, fmt.Sprintf("%s[%d]", path, i), item)
	}
}

func (v *validator) mapping(name string, s *Shape, path string, doc any) {
	obj, ok := doc.(map[string]any)
	if !ok {
		v.fail(path, "want object (map %s), got %s", name, jsonType(doc))
		return
	}
	v.bounds(path, "entries", float64(len(obj)), s)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := joinPath(path, k)
		if s.Key != nil {
			v.value(s.Key, kp+" (key)", k)
		}
		if s.Value != nil {
			v.value(s.Value, kp, obj[k])
		}
	}
}

func (v *validator) str(name string, s *Shape, path string, doc any) {
	str, ok := doc.(string)
	if !ok {
		v.fail(path, "want string (%s), got %s", name, jsonType(doc))
		return
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
		v.fail(path, "%q is not one of %s: %s", str, name, strings.Join(s.Enum, ", "))
	}
	v.bounds(path, "characters", float64(utf8.RuneCountInString(str)), s)
	if re := v.m.patterns[name]; re != nil && !re.MatchString(str) {
		v.fail(path, "%q does not match %s's pattern %s", str, name, s.Pattern)
	}
}

func (v *validator) integer(name string, s *Shape, path string, doc any) {
	num, ok := doc.(json.Number)
	if !ok {
		v.fail(path, "want %s (%s), got %s", s.Type, name, jsonType(doc))
		return
	}
	n, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		v.fail(path, "want %s (%s), got %s", s.Type, name, num)
		return
	}
	if s.Type == "integer" && (n < math.MinInt32 || n > math.MaxInt32) {
		v.fail(path, "%d overflows a 32-bit integer", n)
		return
	}
	v.bounds(path, "", float64(n), s)
}

func (v *validator) float(name string, s *Shape, path string, doc any) {
	num, ok := doc.(json.Number)
	if !ok {
		v.fail(path, "want %s (%s), got %s", s.Type, name, jsonType(doc))
		return
	}
	f, err := num.Float64()
	if err != nil {
		v.fail(path, "want %s (%s), got %s", s.Type, name, num)
		return
	}
	v.bounds(path, "", f, s)
}

func (v *validator) timestamp(path string, doc any) {
	switch t := doc.(type) {
	case json.Number: // epoch seconds
		if _, err := t.Float64(); err != nil {
			v.fail(path, "want timestamp, got %s", t)
		}
	case string:
		if _, err := time.Parse(time.RFC3339, t); err != nil {
			v.fail(path, "want RFC 3339 timestamp, got %q", t)
		}
	default:
		v.fail(path, "want timestamp, got %s", jsonType(doc))
	}
}

// bounds applies a shape's min/max to a count (unit != "") or a value.
func (v *validator) bounds(path, unit string, n float64, s *Shape) {
	what := "value"
	if unit != "" {
		what = unit
	}
	if s.Min != nil && n < *s.Min {
		v.fail(path, "%s %g below minimum %g", what, n, *s.Min)
	}
	if s.Max != nil && n > *s.Max {
		v.fail(path, "%s %g above maximum %g", what, n, *s.Max)
	}
}

// suggest names the member meant by a mis-cased key, or lists short member sets.
func suggest(key string, members map[string]*Ref) string {
	names := sortedKeys(members)
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	if len(names) <= 20 {
		return " (members: " + strings.Join(names, ", ") + ")"
	}
	return ""
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
