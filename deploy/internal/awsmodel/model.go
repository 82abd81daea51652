// Package awsmodel validates API input documents (the JSON given to
// `aws <service> <operation> --cli-input-json`) against AWS's own published
// service models, as shipped in botocore's data directory
// (data/<service>/<api-version>/service-2.json[.gz]).
//
// It walks the shape graph from an operation's input shape and checks what
// the service itself would reject before doing anything: unknown members,
// JSON types, enum values, required members, min/max (string length, list
// and map size, numeric range), patterns (where Go's RE2 can express them),
// unions (exactly one member) and deprecated members.
package awsmodel

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Model is one service's API model.
type Model struct {
	Service    string
	APIVersion string
	Path       string
	Metadata   struct {
		Protocol        string `json:"protocol"`
		ServiceID       string `json:"serviceId"`
		EndpointPrefix  string `json:"endpointPrefix"`
		TargetPrefix    string `json:"targetPrefix"`
		APIVersionField string `json:"apiVersion"`
	} `json:"metadata"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`

	patterns map[string]*regexp.Regexp // compiled, nil when RE2 cannot express it
}

// Operation is one API call.
type Operation struct {
	Name  string `json:"name"`
	Input *Ref   `json:"input"`
}

// Ref points at a shape (a structure member, list member, map key or value).
type Ref struct {
	Shape      string `json:"shape"`
	Deprecated bool   `json:"deprecated"`
}

// Shape is a node of the model's type graph.
type Shape struct {
	Type       string          `json:"type"`
	Members    map[string]*Ref `json:"members"`
	Member     *Ref            `json:"member"`
	Key        *Ref            `json:"key"`
	Value      *Ref            `json:"value"`
	Required   []string        `json:"required"`
	Enum       []string        `json:"enum"`
	Min        *float64        `json:"min"`
	Max        *float64        `json:"max"`
	Pattern    string          `json:"pattern"`
	Union      bool            `json:"union"`
	Document   bool            `json:"document"`
	Deprecated bool            `json:"deprecated"`
	Exception  bool            `json:"exception"`
}

// Load reads data/<service>/<newest api version>/service-2.json[.gz].
func Load(dataDir, service string) (*Model, error) {
	svcDir := filepath.Join(dataDir, service)
	entries, err := os.ReadDir(svcDir)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", service, err)
	}
	var versions []string
	for _, e := range entries {
		if e.IsDir() {
			versions = append(versions, e.Name())
		}
	}
	sort.Strings(versions) // API versions are dates: the last is the newest
	for i := len(versions) - 1; i >= 0; i-- {
		for _, name := range []string{"service-2.json", "service-2.json.gz"} {
			p := filepath.Join(svcDir, versions[i], name)
			if _, err := os.Stat(p); err == nil {
				m, err := LoadFile(p)
				if err != nil {
					return nil, err
				}
				m.Service, m.APIVersion = service, versions[i]
				return m, nil
			}
		}
	}
	return nil, fmt.Errorf("service %q: no service-2.json under %s", service, svcDir)
}

// LoadFile reads one service-2.json (gzip-compressed when it ends in .gz).
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	m, err := Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// Parse reads a service model.
func Parse(r io.Reader) (*Model, error) {
	var m Model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, err
	}
	if len(m.Shapes) == 0 || len(m.Operations) == 0 {
		return nil, fmt.Errorf("not a service model: %d operations, %d shapes", len(m.Operations), len(m.Shapes))
	}
	m.patterns = map[string]*regexp.Regexp{}
	for name, s := range m.Shapes {
		if s.Pattern != "" {
			m.patterns[name] = compilePattern(s.Pattern)
		}
	}
	return &m, nil
}

// InputShape is the name of an operation's input shape.
func (m *Model) InputShape(operation string) (string, error) {
	op, ok := m.Operations[operation]
	if !ok {
		return "", fmt.Errorf("%s has no operation %q", m.Service, operation)
	}
	if op.Input == nil {
		return "", fmt.Errorf("%s.%s takes no input", m.Service, operation)
	}
	return op.Input.Shape, nil
}

// compilePattern turns a model pattern (Java regex syntax) into a Go regexp
// matched against the whole value, as the services do. Patterns RE2 cannot
// express (look-ahead, \p{Print}, ...) come back nil and are not checked.
func compilePattern(p string) *regexp.Regexp {
	// Java's \uXXXX is RE2's \x{XXXX}; a UTF-16 surrogate-pair range is
	// the supplementary planes; Java's POSIX \p{Print} is printable ASCII.
	p = javaUnicodeEscape.ReplaceAllString(p, `\x{$1}`)
	p = strings.ReplaceAll(p, `\x{D800}\x{DC00}-\x{DBFF}\x{DFFF}`, `\x{10000}-\x{10FFFF}`)
	p = strings.ReplaceAll(p, `\p{Print}`, `[\x20-\x7E]`)
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil
	}
	return re
}

var javaUnicodeEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)
