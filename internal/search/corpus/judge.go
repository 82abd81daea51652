package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Query is one labelled query of testdata/search/queries.json: what a
// person typed and what they meant.
type Query struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Lang   string `json:"lang"`  // ko or en
	Style  string `json:"style"` // name, attribute, area, paraphrase, cross-lingual
	Intent Intent `json:"intent"`
}

// Intent is what a query asks for, in the corpus's concepts. Empty fields
// are unconstrained.
type Intent struct {
	Brand    string   `json:"brand,omitempty"`
	Category string   `json:"category,omitempty"`
	Kinds    []string `json:"kinds,omitempty"`
	Attrs    []string `json:"attrs,omitempty"`
	Area     string   `json:"area,omitempty"`
}

// LoadQueries reads and checks a queries file: every concept it names must
// exist in the generator's vocabulary, so a typo cannot silently make a
// query unanswerable.
func LoadQueries(path string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var qs []Query
	if err := json.Unmarshal(b, &qs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for _, q := range qs {
		if q.ID == "" || q.Text == "" || seen[q.ID] {
			return nil, fmt.Errorf("%s: query %q: missing or repeated id or text", path, q.ID)
		}
		seen[q.ID] = true
		if err := q.Intent.check(); err != nil {
			return nil, fmt.Errorf("%s: query %s: %w", path, q.ID, err)
		}
	}
	return qs, nil
}

func (in Intent) check() error {
	if in.Brand == "" && in.Category == "" && len(in.Kinds) == 0 && len(in.Attrs) == 0 && in.Area == "" {
		return fmt.Errorf("empty intent: every store would be relevant")
	}
	if in.Brand != "" && !slices.ContainsFunc(brands, func(b brand) bool { return b.Key == in.Brand }) {
		return fmt.Errorf("unknown brand %q", in.Brand)
	}
	for _, k := range in.Kinds {
		if !slices.ContainsFunc(kinds, func(x kind) bool { return x.Key == k }) {
			return fmt.Errorf("unknown kind %q", k)
		}
	}
	for _, a := range in.Attrs {
		if !slices.ContainsFunc(attrs, func(x attr) bool { return x.Key == a }) {
			return fmt.Errorf("unknown attribute %q", a)
		}
	}
	if in.Area != "" && !slices.ContainsFunc(areas, func(x area) bool { return x.Key == in.Area }) {
		return fmt.Errorf("unknown area %q", in.Area)
	}
	return nil
}

// Grade judges how well s answers in, on the usual 0–3 scale:
//
//	3  exactly what was asked: the right kind of place with every quality
//	   and in the neighbourhood asked for (or the chain, in that area)
//	2  the right kind of place meeting at least half of the rest
//	1  the right kind of place only (or the chain, elsewhere)
//	0  not relevant
//
// For a query without a kind or category ("데이트하기 좋은 곳") the qualities
// are the whole request: a place with none of them is not relevant.
func Grade(in Intent, s Store) int {
	if in.Brand != "" {
		switch {
		case s.Brand != in.Brand:
			return 0
		case in.Area != "" && s.Area != in.Area:
			return 1
		}
		return 3
	}
	typed := len(in.Kinds) > 0 || in.Category != ""
	switch {
	case len(in.Kinds) > 0 && !slices.Contains(in.Kinds, s.Kind):
		return 0
	case len(in.Kinds) == 0 && in.Category != "" && s.Category != in.Category:
		return 0
	}
	total, met := len(in.Attrs), 0
	for _, a := range in.Attrs {
		if slices.Contains(s.Attrs, a) {
			met++
		}
	}
	if in.Area != "" {
		total++
		if s.Area == in.Area {
			met++
		}
	}
	switch {
	case met == total:
		return 3
	case 2*met >= total:
		return 2
	case typed:
		return 1
	case met > 0:
		return 1
	}
	return 0
}

// The relevance corpus: testdata/search/qrels.tsv judges queries against
// Generate(RelevanceSize, RelevanceSeed).
const (
	RelevanceSize = 2000
	RelevanceSeed = 1
)
