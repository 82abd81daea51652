// Package corpus generates a deterministic corpus of Seoul stores with coupon
// events, and grades search queries against it, for the relevance test and
// the search benchmark.
//
// Every store is generated from concepts (neighbourhood, kind of place,
// chain, qualities such as "quiet" or "cheap") rendered into Korean or
// English text with one of several ways of saying each concept. Judgments
// are computed from the concepts, never from the text, so a search engine
// that finds a "한적한 찻집" for "조용한 카페" is rewarded exactly as a
// person would reward it. Store i is the same whatever the corpus size (it
// has its own random stream), so the 2,000-store relevance corpus is a prefix
// of the 100,000-store benchmark corpus.
package corpus

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Store is one generated store.
type Store struct {
	Name        string
	Category    string
	Description string
	Address     string
	Lat, Lng    float64
	Events      []Event

	// The concepts the text was generated from; Grade uses only these.
	Area  string
	Kind  string
	Brand string
	Attrs []string
}

// Event is a generated coupon event; its window is relative to the time
// the corpus is loaded.
type Event struct {
	Title         string
	DiscountType  string // AMOUNT or PERCENT
	DiscountValue int
	Total         int
	StartIn       time.Duration // negative: already open
	Length        time.Duration
}

// Generate returns stores 0..n-1 of the corpus of seed.
func Generate(n int, seed uint64) []Store {
	out := make([]Store, n)
	for i := range out {
		out[i] = generate(newRNG(seed*1_000_003 + uint64(i)))
	}
	return out
}

func generate(r *rng) Store {
	a := areas[r.weighted(len(areas), func(i int) int { return areas[i].Weight })]
	var s Store
	s.Area = a.Key
	var k kind
	var b *brand
	if r.float() < 0.14 {
		b = &brands[r.weighted(len(brands), func(i int) int { return brands[i].Weight })]
		k = kindByKey(b.Kind)
		s.Brand = b.Key
	} else {
		k = kinds[r.weighted(len(kinds), func(i int) int { return kinds[i].Weight })]
	}
	s.Kind, s.Category = k.Key, k.Category

	// Qualities: independents have one to three, chains at most one.
	nAttrs := 1 + r.weighted(3, func(i int) int { return []int{4, 4, 2}[i] })
	if b != nil {
		nAttrs = r.intn(2)
	}
	for _, i := range r.perm(len(k.Attrs)) {
		a := k.Attrs[i]
		if len(s.Attrs) == nAttrs {
			break
		}
		if (a == "cheap" && slices.Contains(s.Attrs, "premium")) || (a == "premium" && slices.Contains(s.Attrs, "cheap")) {
			continue // a place is not both
		}
		s.Attrs = append(s.Attrs, a)
	}

	english := r.float() < 0.2
	if a.Key == "itaewon" {
		english = r.float() < 0.5
	}
	s.Name = storeName(r, a, k, b, english)
	s.Description = description(r, a, k, b, s.Attrs, english)
	s.Address = address(r, a)

	// About 350 m of spread around the neighbourhood's centre.
	const sigmaM = 350.0
	s.Lat = a.Lat + r.norm()*sigmaM/111_320
	s.Lng = a.Lng + r.norm()*sigmaM/(111_320*math.Cos(a.Lat*math.Pi/180))

	if r.float() < 0.35 {
		n := 1
		if r.float() < 0.25 {
			n = 2
		}
		for range n {
			s.Events = append(s.Events, event(r, k, english))
		}
	}
	return s
}

func storeName(r *rng, a area, k kind, b *brand, english bool) string {
	if b != nil {
		if english && r.float() < 0.5 {
			return b.En + " " + a.En
		}
		return b.Ko + " " + a.Station + "점"
	}
	if english {
		switch r.intn(3) {
		case 0:
			return pick(r, namePrefixEn) + " " + pick(r, nameSuffixEn)
		case 1:
			return pick(r, namePrefixEn) + " " + titleCase(pick(r, k.En))
		default:
			return pick(r, namePrefixKo) + " " + pick(r, nameSuffixEn)
		}
	}
	switch r.weighted(4, func(i int) int { return []int{4, 2, 2, 2}[i] }) {
	case 0:
		return pick(r, namePrefixKo) + " " + k.Short
	case 1:
		return pick(r, namePrefixKo) + pick(r, nameSuffixKo)
	case 2:
		return pick(r, namePrefixEn) + " " + pick(r, nameSuffixEn)
	default:
		return pick(r, namePrefixKo) + " " + pick(r, k.Ko)
	}
}

func description(r *rng, a area, k kind, b *brand, as []string, english bool) string {
	if b == nil && r.float() < 0.08 {
		return "" // some merchants never write one
	}
	m := r.perm(len(k.MenuKo))
	var sb strings.Builder
	if english {
		if b != nil {
			fmt.Fprintf(&sb, "%s %s branch. ", b.En, a.En)
		}
		place := pick(r, k.En)
		if r.float() < 0.5 {
			fmt.Fprintf(&sb, "%s in %s", titleCase(place), a.En)
		} else {
			fmt.Fprintf(&sb, "%s", titleCase(place))
		}
		for i, key := range as {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			sb.WriteString(sep + pick(r, attrByKey(key).En))
		}
		fmt.Fprintf(&sb, ". Known for %s and %s.", k.MenuEn[m[0]], k.MenuEn[m[min(1, len(m)-1)]])
		return sb.String()
	}
	if b != nil {
		fmt.Fprintf(&sb, "%s %s점입니다. ", b.Ko, a.Station)
		if r.float() < 0.4 {
			fmt.Fprintf(&sb, "(%s) ", b.En)
		}
	}
	if r.float() < 0.5 {
		t := pick(r, []string{"{a} ", "{s} 근처 ", "{a}에 있는 ", "{s} 도보 3분 거리의 "})
		sb.WriteString(strings.NewReplacer("{a}", a.Ko, "{s}", a.Station).Replace(t))
	}
	if len(as) > 0 {
		sb.WriteString(pick(r, attrByKey(as[0]).Ko) + " ")
	}
	sb.WriteString(pick(r, k.Ko) + "입니다. ")
	m0, m1 := k.MenuKo[m[0]], k.MenuKo[m[min(1, len(m)-1)]]
	switch {
	case !eatery(k.Category):
		fmt.Fprintf(&sb, "%s, %s 전문이에요.", m0, m1)
	case r.intn(3) == 0:
		fmt.Fprintf(&sb, "대표 메뉴는 %s%s %s.", m0, josa(m0, "과", "와"), m1)
	case r.intn(2) == 0:
		fmt.Fprintf(&sb, "%s, %s%s 인기예요.", m0, m1, josa(m1, "이", "가"))
	default:
		fmt.Fprintf(&sb, "%s 맛집으로 알려져 있어요.", m0)
	}
	for _, key := range as[min(1, len(as)):] {
		sb.WriteString(" " + pick(r, attrByKey(key).Ko) + " 곳이에요.")
	}
	return sb.String()
}

func address(r *rng, a area) string {
	city := "서울"
	if a.Key == "pangyo" {
		city = "경기"
	}
	s := fmt.Sprintf("%s %s %s %d", city, a.Gu, pick(r, a.Roads), 1+r.intn(180))
	if r.float() < 0.4 {
		s += fmt.Sprintf(" %d층", 1+r.intn(5))
	}
	return s
}

func event(r *rng, k kind, english bool) Event {
	e := Event{Total: 50 + 10*r.intn(46)}
	menu := pick(r, k.MenuKo)
	switch r.intn(4) {
	case 0:
		e.Title, e.DiscountType, e.DiscountValue = menu+" 1+1", "PERCENT", 50
	case 1:
		e.DiscountType, e.DiscountValue = "PERCENT", 10+5*r.intn(5)
		e.Title = fmt.Sprintf("%s %d%% 할인", menu, e.DiscountValue)
	case 2:
		e.DiscountType, e.DiscountValue = "AMOUNT", 1000*(1+r.intn(5))
		e.Title = fmt.Sprintf("오픈 기념 %d원 할인", e.DiscountValue)
	default:
		e.DiscountType, e.DiscountValue = "PERCENT", 10
		e.Title = "첫 방문 10% 할인 쿠폰"
	}
	if english {
		e.Title = fmt.Sprintf("%d%% off %s", e.DiscountValue, pick(r, k.MenuEn))
		e.DiscountType = "PERCENT"
		if e.DiscountValue > 100 {
			e.DiscountValue = 20
			e.Title = "20% off " + pick(r, k.MenuEn)
		}
	}
	if r.float() < 0.7 { // open now
		e.StartIn = -time.Duration(1+r.intn(48)) * time.Hour
		e.Length = time.Duration(48+r.intn(240)) * time.Hour
	} else { // opens later
		e.StartIn = time.Duration(2+r.intn(72)) * time.Hour
		e.Length = 72 * time.Hour
	}
	return e
}

// eatery reports whether a category serves food or drink.
func eatery(category string) bool {
	switch category {
	case "CAFE", "FOOD", "BAKERY", "BAR":
		return true
	}
	return false
}

// josa picks the form of a Korean particle that follows word: withFinal
// after a syllable that ends in a consonant (과, 이), else withoutFinal
// (와, 가). Latin letters and digits take the vowel form, as they are
// usually read.
func josa(word, withFinal, withoutFinal string) string {
	rs := []rune(word)
	if len(rs) == 0 {
		return withoutFinal
	}
	last := rs[len(rs)-1]
	if last >= 0xAC00 && last <= 0xD7A3 && (last-0xAC00)%28 != 0 {
		return withFinal
	}
	return withoutFinal
}

func kindByKey(key string) kind {
	for _, k := range kinds {
		if k.Key == key {
			return k
		}
	}
	panic("corpus: unknown kind " + key)
}

func attrByKey(key string) attr {
	for _, a := range attrs {
		if a.Key == key {
			return a
		}
	}
	panic("corpus: unknown attribute " + key)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// rng is splitmix64: tiny, fast and, unlike math/rand, guaranteed to give
// the same stream on every Go version, which the golden judgments need.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int      { return int(r.next() % uint64(n)) }
func (r *rng) float() float64      { return float64(r.next()>>11) / (1 << 53) }
func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// norm is a standard normal sample (Box–Muller).
func (r *rng) norm() float64 {
	u1 := max(r.float(), 1e-12)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*r.float())
}

func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// weighted picks an index in [0, n) with probability weight(i)/Σweight.
func (r *rng) weighted(n int, weight func(int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	x := r.intn(total)
	for i := range n {
		x -= weight(i)
		if x < 0 {
			return i
		}
	}
	return n - 1
}
